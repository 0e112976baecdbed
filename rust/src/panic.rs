//! Turning a caught panic payload into a message: used where panics are caught — node calls in the
//! engine and every `extern "C"` function in `abi`.

/// The message of a caught panic payload (`&str` or `String`; anything else is "unknown panic payload").
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}
