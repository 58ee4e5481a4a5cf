//! The photo's review: to review → approved or rejected, with a note; who decided and when.

use leptos::prelude::*;

use crate::error::AppError;

use crate::jobs::{JobRow, ReviewState};

/// Approves or rejects the photo of job `id` (`state`: `approved`, `rejected`, `to_review`).
#[server(endpoint = "review_photo")]
pub async fn review_photo(id: String, state: String, note: String) -> Result<(), AppError> {
    use crate::auth::principal;
    use crate::context::{job_error, server_context};
    let state = ReviewState::parse(&state)
        .ok_or_else(|| AppError::refused("a review is to_review, approved or rejected"))?;
    server_context()?
        .jobs
        .review(&principal()?, &id, state, Some(&note))
        .await
        .map_err(job_error)
}

#[component]
pub fn ReviewPanel(
    job: JobRow,
    versions: Resource<Result<Vec<JobRow>, AppError>>,
    may_edit: bool,
) -> impl IntoView {
    let review = ServerAction::<ReviewPhoto>::new();
    // Kept outside the re-read versions, so a note being typed survives live updates.
    let note = RwSignal::new(job.review_note.clone().unwrap_or_default());
    Effect::new(move |_| {
        if matches!(review.value().get(), Some(Ok(()))) {
            versions.refetch();
        }
    });
    let id = job.id.clone();
    let decide = move |state: ReviewState| {
        review.dispatch(ReviewPhoto {
            id: id.clone(),
            state: state.as_str().to_string(),
            note: note.get_untracked(),
        });
    };
    let current = job.id.clone();
    view! {
        <section class="card" data-testid="review">
            <h2>"Review"</h2>
            <Suspense fallback=|| view! { <p>"Loading the review…"</p> }>
                {move || {
                    let current = current.clone();
                    Suspend::new(async move {
                        let all = versions.await.unwrap_or_default();
                        let row = all.iter().find(|v| v.id == current).or(all.first()).cloned();
                        row.map(|row| {
                            let decided = match (&row.reviewed_by, &row.reviewed_at) {
                                (Some(by), Some(at)) => format!(" by {by} on {at}"),
                                _ => String::new(),
                            };
                            view! {
                                <p>
                                    <span class=format!("badge review-{}", row.review_state.as_str()) data-testid="review-state">
                                        {row.review_state.label()}
                                    </span>
                                    <span class="meta">{decided}</span>
                                </p>
                                {row.review_note.clone().map(|n| view! { <blockquote data-testid="review-note">{n}</blockquote> })}
                            }
                        })
                    })
                }}
            </Suspense>
            {may_edit.then(|| {
                let (approve, reject, reopen) = (decide.clone(), decide.clone(), decide);
                view! {
                    <label class="stacked">
                        "Note (the reason, or the source of a colour)"
                        <textarea
                            data-testid="review-note-input"
                            rows="2"
                            maxlength="2000"
                            placeholder="e.g. door colour from the 1931 building permit"
                            prop:value=move || note.get()
                            on:input=move |ev| note.set(event_target_value(&ev))
                        ></textarea>
                    </label>
                    <p class="hero-actions">
                        <button class="button primary" type="button" data-testid="approve"
                            on:click=move |_| approve(ReviewState::Approved)>"Approve"</button>
                        <button class="button" type="button" data-testid="reject"
                            on:click=move |_| reject(ReviewState::Rejected)>"Reject"</button>
                        <button class="button" type="button" data-testid="to-review"
                            on:click=move |_| reopen(ReviewState::ToReview)>"Back to review"</button>
                    </p>
                }
            })}
            {move || review.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{crate::pages::login::server_message(&e)}</p> })}
        </section>
    }
}
