//! Views: JavaScript `ArrayBuffer`s over a RuntimeData payload that own a reference to it.
//!
//! A view's backing store can be moved away from the object that made it (`ArrayBuffer.prototype.
//! transfer`, `postMessage` transfer lists, `structuredClone` with `transfer`), so the payload must live
//! as long as the backing store itself, not as long as the `RuntimeData` wrapper or its handle. Each view
//! therefore holds one `Arc` clone of the data, released by the runtime's deleter for that backing store:
//! - Bun: `toArrayBuffer(ptr, 0, len, ctx, rm_view_release)` — JavaScriptCore calls the deallocator when
//!   the last owner of the bytes (wherever they were moved) is gone.
//! - Deno: `Deno.UnsafePointerView.getArrayBuffer` has no deleter, so views are made by
//!   `napi_create_external_arraybuffer` through a tiny Node-API module exported by this same library
//!   (loaded with `process.dlopen`); V8 runs its finalizer when the backing store dies, in any isolate.

use super::error::{guard, guard_status, AbiError, Status};
use super::{handles, RmHandle};
use crate::data::RuntimeData;
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

static LIVE_VIEWS: AtomicUsize = AtomicUsize::new(0);

/// Takes one reference for a view: the context is the `Arc` itself (`Arc::into_raw`, no allocation).
fn retain(handle: RmHandle) -> Result<(*mut u8, usize, *mut c_void), AbiError> {
    let data = handles::get_data(handle)?;
    let bytes = data.payload_bytes();
    let (ptr, len) = (bytes.as_ptr() as *mut u8, bytes.len());
    if len == 0 {
        return Err(AbiError::new(
            Status::InvalidArgument,
            "a view needs a non-empty payload",
        ));
    }
    LIVE_VIEWS.fetch_add(1, Ordering::Relaxed);
    Ok((ptr, len, Arc::into_raw(data) as *mut c_void))
}

/// Takes one reference to the payload of `handle` for a view and returns it as an opaque context, to be
/// released exactly once by [`rm_view_release`] (the deallocator of the view's backing store), and
/// writes the payload's address into `address` (one call per view instead of two). Returns null on
/// error (stale handle, empty payload).
///
/// # Safety
/// `address` must be null or point to one writable double.
#[no_mangle]
pub unsafe extern "C" fn rm_view_retain(handle: RmHandle, address: *mut f64) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        let (ptr, _, context) = retain(handle)?;
        if !address.is_null() {
            // SAFETY: the caller guarantees one writable double at `address`. Addresses stay below
            // 2^53 on every supported platform, so a double carries them exactly.
            unsafe { *address = ptr as usize as f64 };
        }
        Ok(context)
    })
}

/// Releases a context made by [`rm_view_retain`]. Its signature is JavaScriptCore's
/// `JSTypedArrayBytesDeallocator` (`bytes` is ignored). Safe to call from any thread.
///
/// # Safety
/// `context` must come from `rm_view_retain` and not have been released before.
#[no_mangle]
pub unsafe extern "C" fn rm_view_release(_bytes: *mut c_void, context: *mut c_void) {
    if context.is_null() {
        return;
    }
    // SAFETY: the caller guarantees `context` came from `Arc::into_raw` in `retain` and is released
    // exactly once, so this gives back that one reference.
    drop(unsafe { Arc::from_raw(context as *const RuntimeData) });
    LIVE_VIEWS.fetch_sub(1, Ordering::Relaxed);
}

/// Address of [`rm_view_release`], for runtimes that take a deallocator as a pointer (bun:ffi).
#[no_mangle]
pub extern "C" fn rm_view_release_address() -> usize {
    rm_view_release as *const () as usize
}

/// Prepares the data of `handle` for writing in place (copy-on-write): when anything besides this handle
/// and `own_views` views made for it shares the value, the handle gets its own copy. Returns 0 when it was
/// already unshared, 1 when a copy was made (views made before still show the shared value), or a
/// negative status (`RM_STATUS_RESOURCE_EXHAUSTED` when the copy does not fit in memory).
#[no_mangle]
pub extern "C" fn rm_data_make_writable(handle: RmHandle, own_views: u32) -> i32 {
    guard_status(|| Ok(handles::make_data_unique(handle, own_views as usize)? as i32))
}

/// Number of views whose backing stores are still alive (instrumentation for leak tests).
#[no_mangle]
pub extern "C" fn rm_live_views() -> u32 {
    LIVE_VIEWS.load(Ordering::Relaxed) as u32
}

/// The Node-API side: one function, `view(handle) → ArrayBuffer | undefined`, for Deno.
#[cfg(unix)]
mod napi {
    use super::*;
    use std::sync::OnceLock;

    type Env = *mut c_void;
    type Value = *mut c_void;
    type CallbackInfo = *mut c_void;
    type Callback = unsafe extern "C" fn(Env, CallbackInfo) -> Value;
    type Finalize = unsafe extern "C" fn(Env, *mut c_void, *mut c_void);

    type CreateFunction =
        unsafe extern "C" fn(Env, *const u8, usize, Callback, *mut c_void, *mut Value) -> i32;
    type SetNamedProperty = unsafe extern "C" fn(Env, Value, *const u8, Value) -> i32;
    type GetCallbackInfo = unsafe extern "C" fn(
        Env,
        CallbackInfo,
        *mut usize,
        *mut Value,
        *mut Value,
        *mut *mut c_void,
    ) -> i32;
    type GetValueDouble = unsafe extern "C" fn(Env, Value, *mut f64) -> i32;
    type GetUndefined = unsafe extern "C" fn(Env, *mut Value) -> i32;
    type CreateExternalArrayBuffer = unsafe extern "C" fn(
        Env,
        *mut c_void,
        usize,
        Option<Finalize>,
        *mut c_void,
        *mut Value,
    ) -> i32;

    /// The Node-API functions used, looked up in the host process (Deno, Bun, Node export them).
    struct Api {
        create_function: CreateFunction,
        set_named_property: SetNamedProperty,
        get_cb_info: GetCallbackInfo,
        get_value_double: GetValueDouble,
        get_undefined: GetUndefined,
        create_external_arraybuffer: CreateExternalArrayBuffer,
    }

    static API: OnceLock<Option<Api>> = OnceLock::new();

    fn lookup(name: &std::ffi::CStr) -> Option<*mut c_void> {
        // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads the loaded symbol tables.
        let address = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
        (!address.is_null()).then_some(address)
    }

    fn api() -> Option<&'static Api> {
        API.get_or_init(|| {
            macro_rules! function {
                ($name:literal, $type:ty) => {{
                    let address = lookup($name)?;
                    // SAFETY: the host exports this Node-API function with the C signature of the
                    // field it is stored in (node_api.h); a data pointer and a function pointer have
                    // the same size on every unix target.
                    unsafe { std::mem::transmute::<*mut c_void, $type>(address) }
                }};
            }
            Some(Api {
                create_function: function!(c"napi_create_function", CreateFunction),
                set_named_property: function!(c"napi_set_named_property", SetNamedProperty),
                get_cb_info: function!(c"napi_get_cb_info", GetCallbackInfo),
                get_value_double: function!(c"napi_get_value_double", GetValueDouble),
                get_undefined: function!(c"napi_get_undefined", GetUndefined),
                create_external_arraybuffer: function!(
                    c"napi_create_external_arraybuffer",
                    CreateExternalArrayBuffer
                ),
            })
        })
        .as_ref()
    }

    unsafe extern "C" fn finalize(_env: Env, _data: *mut c_void, hint: *mut c_void) {
        // SAFETY: `hint` is the context `view` made for this backing store; V8 finalizes it once.
        unsafe { rm_view_release(std::ptr::null_mut(), hint) };
    }

    /// `view(handle)`: an external ArrayBuffer over the payload that owns a reference to it, or
    /// `undefined` with the error set for `rm_last_error_*`.
    unsafe extern "C" fn view(env: Env, info: CallbackInfo) -> Value {
        let Some(api) = api() else {
            return std::ptr::null_mut();
        };
        let mut undefined: Value = std::ptr::null_mut();
        // SAFETY: `env` is the live environment of this call; `undefined` is a valid out-pointer.
        unsafe { (api.get_undefined)(env, &mut undefined) };
        guard(undefined, || {
            let mut argc = 1usize;
            let mut argv: [Value; 1] = [std::ptr::null_mut()];
            let mut handle = 0f64;
            // SAFETY: `env`/`info` are this call's; the out-pointers are valid for one value each.
            let ok = unsafe {
                (api.get_cb_info)(
                    env,
                    info,
                    &mut argc,
                    argv.as_mut_ptr(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                ) == 0
                    && argc >= 1
                    && (api.get_value_double)(env, argv[0], &mut handle) == 0
            };
            if !ok {
                return Err(AbiError::new(
                    Status::InvalidArgument,
                    "view(handle): expected a number",
                ));
            }
            let (ptr, len, context) = retain(handle as RmHandle)?;
            let mut buffer: Value = std::ptr::null_mut();
            // SAFETY: `ptr..ptr+len` stays valid while `context` (an Arc of its owner) lives, and V8
            // calls `finalize` with `context` exactly once when the backing store dies.
            let status = unsafe {
                (api.create_external_arraybuffer)(
                    env,
                    ptr as *mut c_void,
                    len,
                    Some(finalize),
                    context,
                    &mut buffer,
                )
            };
            if status != 0 {
                // SAFETY: the runtime did not take `context`; release it here, once.
                unsafe { rm_view_release(std::ptr::null_mut(), context) };
                return Err(AbiError::new(
                    Status::ResourceExhausted,
                    format!("napi_create_external_arraybuffer failed with status {status}"),
                ));
            }
            Ok(buffer)
        })
    }

    /// Node-API entry point, called by `process.dlopen`: exports `view`.
    ///
    /// # Safety
    /// Called by a Node-API host with a live environment and exports object.
    #[no_mangle]
    pub unsafe extern "C" fn napi_register_module_v1(env: Env, exports: Value) -> Value {
        let Some(api) = api() else {
            return exports;
        };
        let mut function: Value = std::ptr::null_mut();
        // SAFETY: `env` and `exports` are live; the name is 4 bytes; `view` has the callback signature.
        unsafe {
            if (api.create_function)(
                env,
                c"view".as_ptr().cast(),
                4,
                view,
                std::ptr::null_mut(),
                &mut function,
            ) == 0
            {
                (api.set_named_property)(env, exports, c"view".as_ptr().cast(), function);
            }
        }
        exports
    }
}
