//! The processes that colorize (this one and `tinct worker`s on other machines) and the queue
//! per model.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::local_time::LocalTime;
use crate::error::AppError;
use crate::jobs::{ModelQueue, WorkerRow};
use crate::pages::login::server_message;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WorkersReport {
    pub workers: Vec<WorkerRow>,
    pub queue: Vec<ModelQueue>,
}

#[server(name = WorkersReportFn, endpoint = "workers_report")]
pub async fn workers_report() -> Result<WorkersReport, AppError> {
    use crate::context::{internal, server_context};
    crate::auth::require(|p| p.is_admin())?;
    let db = server_context()?.db;
    let workers = crate::jobs::read::workers(&db)
        .await
        .map_err(|e| internal("the workers could not be read", e))?;
    let queue = crate::jobs::read::queue_by_model(&db)
        .await
        .map_err(|e| internal("the queue could not be read", e))?;
    Ok(WorkersReport { workers, queue })
}

#[component]
pub fn WorkersSection() -> impl IntoView {
    let report = Resource::new(|| (), |_| workers_report());
    view! {
        <section class="card" data-testid="workers-section">
            <h2>"Workers and queue"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match report.await {
                        Ok(report) => view! {
                            <QueueTable queue=report.queue/>
                            <WorkersTable workers=report.workers/>
                        }
                            .into_any(),
                        Err(e) => view! { <p class="error">{server_message(&e)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn QueueTable(queue: Vec<ModelQueue>) -> impl IntoView {
    if queue.is_empty() {
        return view! { <p data-testid="queue-by-model">"No job is waiting or running."</p> }
            .into_any();
    }
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="Queue per model">
            <table data-testid="queue-by-model">
                <thead><tr><th>"Model"</th><th>"Waiting"</th><th>"Running"</th></tr></thead>
                <tbody>
                    {queue.into_iter().map(|q| view! {
                        <tr><td><code>{q.model}</code></td><td>{q.queued}</td><td>{q.running}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn WorkersTable(workers: Vec<WorkerRow>) -> impl IntoView {
    if workers.is_empty() {
        return view! {
            <p data-testid="workers">
                "No process colorizes: start one with tinct worker, or tinct serve without --no-workers."
            </p>
        }
        .into_any();
    }
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="Workers">
            <table class="cards-on-phone" data-testid="workers">
                <thead>
                    <tr>
                        <th>"Host"</th>
                        <th>"State"</th>
                        <th>"Device"</th>
                        <th>"Default model"</th>
                        <th>"Started"</th>
                        <th>"Last heard from"</th>
                        <th>"Jobs done"</th>
                    </tr>
                </thead>
                <tbody>
                    {workers.into_iter().map(|w| {
                        let state = match (w.alive, &w.stopped_at) {
                            (true, _) => "working",
                            (false, Some(_)) => "stopped",
                            (false, None) => "not heard from (gone?)",
                        };
                        view! {
                            <tr data-worker=w.id.clone()>
                                <td>{format!("{} (pid {})", w.host, w.pid)}</td>
                                <td>{state}</td>
                                <td>{format!("{}, {} at a time", w.device, w.job_workers)}</td>
                                <td><code>{w.model}</code></td>
                                <td><LocalTime iso=w.started_at/></td>
                                <td><LocalTime iso=w.heartbeat_at/></td>
                                <td>{match w.jobs_failed {
                                    0 => w.jobs_done.to_string(),
                                    failed => format!("{} ({failed} failed)", w.jobs_done),
                                }}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
