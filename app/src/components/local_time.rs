//! Moments and durations as people read them. The server renders a moment in UTC; once the page
//! is hydrated, the browser rewrites it in the reader's own time zone and language.

use leptos::prelude::*;

/// A moment (`2026-12-03T10:04:05.123Z`, as the database keeps it) in the reader's time zone.
#[component]
pub fn LocalTime(#[prop(into)] iso: String) -> impl IntoView {
    let text = RwSignal::new(utc_text(&iso));
    #[cfg(feature = "hydrate")]
    {
        let iso = iso.clone();
        Effect::new(move |_| {
            if let Some(local) = browser_local(&iso) {
                text.set(local);
            }
        });
    }
    view! { <time datetime=iso.clone() title=format!("{} (UTC)", utc_text(&iso))>{move || text.get()}</time> }
}

/// `2026-12-03 10:04 UTC`: what the page shows before (or without) the browser's clock.
pub fn utc_text(iso: &str) -> String {
    match (iso.get(0..10), iso.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => iso.to_string(),
    }
}

#[cfg(feature = "hydrate")]
fn browser_local(iso: &str) -> Option<String> {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(iso));
    if date.get_time().is_nan() {
        return None;
    }
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into());
    let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"short".into());
    date.to_locale_string("default", &options).as_string()
}

/// Seconds since 1970 of a moment as the database keeps it (`YYYY-MM-DDTHH:MM:SS[.fff]Z`).
pub fn seconds_of(iso: &str) -> Option<f64> {
    let number = |range: std::ops::Range<usize>| iso.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute) = (number(11..13)?, number(14..16)?);
    let second: f64 = iso.get(17..)?.trim_end_matches('Z').parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm), 1970-01-01 being day 0.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hour * 3600 + minute * 60) as f64 + second)
}

/// "3.1 s", "4 min 12 s", "2 h 05 min": how long from `start` to `end`.
pub fn duration_text(start: &str, end: &str) -> Option<String> {
    let seconds = seconds_of(end)? - seconds_of(start)?;
    if seconds < 0.0 {
        return None;
    }
    Some(if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else if seconds < 3600.0 {
        let whole = seconds.round() as i64;
        format!("{} min {} s", whole / 60, whole % 60)
    } else {
        let minutes = (seconds / 60.0).round() as i64;
        format!("{} h {:02} min", minutes / 60, minutes % 60)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_and_durations_read_as_people_write_them() {
        assert_eq!(utc_text("2026-12-03T10:04:05.123Z"), "2026-12-03 10:04 UTC");
        assert_eq!(seconds_of("1970-01-01T00:00:01.5Z"), Some(1.5));
        assert_eq!(seconds_of("2000-03-01T00:00:00Z"), Some(951_868_800.0));
        assert_eq!(
            duration_text("2026-12-03T10:04:05.000Z", "2026-12-03T10:04:08.123Z").as_deref(),
            Some("3.1 s")
        );
        assert_eq!(
            duration_text("2026-12-31T23:58:00.000Z", "2027-01-01T00:02:12.000Z").as_deref(),
            Some("4 min 12 s")
        );
        assert_eq!(
            duration_text("2026-12-03T10:00:00Z", "2026-12-03T12:05:00Z").as_deref(),
            Some("2 h 05 min")
        );
        assert_eq!(duration_text("later", "2026-12-03T12:05:00Z"), None);
    }
}
