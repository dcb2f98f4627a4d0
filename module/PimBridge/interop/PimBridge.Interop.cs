// The interop layer between the PimBridge module and the native pim_bridge library, compiled once
// by build.ps1 (Add-Type -OutputAssembly) into PimBridge.Interop.dll, which ships in the module:
// nothing is compiled at import, and it works where Add-Type is blocked. Its files:
//
//   PimBridge.Interop.cs     NativeMethods: the native functions, declared as include/pim_bridge.h
//                            declares them (Module.Tests.ps1 checks each against the header)
//   PimResult.g.cs           the result codes and ABI version, generated from the header
//   SafeHandles.cs           pim_client* and pim_op*, freed by the runtime
//   NativeLibraryLocator.cs  finds the library next to this assembly and refuses another ABI
//   PimNativeException.cs    native errors (one shape, whether an operation or one request failed)
//   PimNative.cs             what PowerShell calls: handles, strings and exceptions, no pointers
//   StreamFeeder.cs          requests handed to a stream operation in groups, their intents first
//   DecisionInput.cs         what the deciding commands read of each piece of pipeline input
//   DecisionLogEvents.cs     the decision log's events, built and appended a group at a time
//   TraceReader.cs           an operation's trace (pim_op_take_trace) as verbose and debug lines
//   PolicyNative.cs          policies (pim_policy_*): load, evaluate
//   DecisionLogNative.cs     the decision log (pim_log_*): where it is, append, read, verify
//   SecureText.cs            a session's token into a SecureString, without ConvertTo-SecureString

using System;
using System.Runtime.InteropServices;

namespace PimBridge.Interop
{
    /// <summary>The native functions, declared as include/pim_bridge.h declares them.</summary>
    internal static class NativeMethods
    {
        internal const string Library = "pim_bridge";

        [DllImport(Library)] internal static extern PimResult pim_client_new([MarshalAs(UnmanagedType.LPUTF8Str)] string options_json, out PimClientHandle client_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern void pim_client_free(IntPtr client);
        [DllImport(Library)] internal static extern PimResult pim_client_with_trace(PimClientHandle client, uint level, out PimClientHandle client_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_list_pending(PimClientHandle client, IntPtr token, [MarshalAs(UnmanagedType.LPUTF8Str)] string options_json, out PimOpHandle op_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_approve(PimClientHandle client, IntPtr graph_token, IntPtr arm_token, [MarshalAs(UnmanagedType.LPUTF8Str)] string requests_json, [MarshalAs(UnmanagedType.LPUTF8Str)] string justification, out PimOpHandle op_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_deny(PimClientHandle client, IntPtr graph_token, IntPtr arm_token, [MarshalAs(UnmanagedType.LPUTF8Str)] string requests_json, [MarshalAs(UnmanagedType.LPUTF8Str)] string justification, out PimOpHandle op_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_approve_stream(PimClientHandle client, IntPtr graph_token, IntPtr arm_token, [MarshalAs(UnmanagedType.LPUTF8Str)] string justification, out PimOpHandle op_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_deny_stream(PimClientHandle client, IntPtr graph_token, IntPtr arm_token, [MarshalAs(UnmanagedType.LPUTF8Str)] string justification, out PimOpHandle op_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_op_push(PimOpHandle op, [MarshalAs(UnmanagedType.LPUTF8Str)] string requests_json, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_op_close_input(PimOpHandle op);
        [DllImport(Library)] internal static extern PimResult pim_op_wait(PimOpHandle op, uint timeout_ms);
        [DllImport(Library)] internal static extern PimResult pim_op_progress(PimOpHandle op, out ulong done_out, out ulong total_out);
        [DllImport(Library)] internal static extern PimResult pim_op_take_results(PimOpHandle op, out IntPtr json_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_op_take_trace(PimOpHandle op, out IntPtr json_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_op_error(PimOpHandle op, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_op_cancel(PimOpHandle op);
        [DllImport(Library)] internal static extern void pim_op_free(IntPtr op);
        [DllImport(Library)] internal static extern void pim_string_free(IntPtr s);
        [DllImport(Library)] internal static extern PimResult pim_error_code(IntPtr err);
        [DllImport(Library)] internal static extern IntPtr pim_error_kind(IntPtr err);
        [DllImport(Library)] internal static extern ushort pim_error_http_status(IntPtr err);
        [DllImport(Library)] internal static extern IntPtr pim_error_service_code(IntPtr err);
        [DllImport(Library)] internal static extern IntPtr pim_error_message(IntPtr err);
        [DllImport(Library)] internal static extern IntPtr pim_error_request_id(IntPtr err);
        [DllImport(Library)] internal static extern IntPtr pim_error_claims(IntPtr err);
        [DllImport(Library)] internal static extern void pim_error_free(IntPtr err);
        [DllImport(Library)] internal static extern PimResult pim_token_info(IntPtr token, out IntPtr json_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern IntPtr pim_surfaces();
        [DllImport(Library)] internal static extern IntPtr pim_surface_resolve([MarshalAs(UnmanagedType.LPUTF8Str)] string approval_id, [MarshalAs(UnmanagedType.LPUTF8Str)] string surface);
        [DllImport(Library)] internal static extern PimResult pim_policy_load([MarshalAs(UnmanagedType.LPUTF8Str)] string policy_json, [MarshalAs(UnmanagedType.LPUTF8Str)] string source_name, [MarshalAs(UnmanagedType.U1)] bool force, out PimPolicyHandle policy_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_policy_evaluate(PimPolicyHandle policy, [MarshalAs(UnmanagedType.LPUTF8Str)] string requests_json, [MarshalAs(UnmanagedType.LPUTF8Str)] string context_json, out IntPtr json_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern void pim_policy_free(IntPtr policy);
        [DllImport(Library)] internal static extern PimResult pim_log_resolve_path([MarshalAs(UnmanagedType.LPUTF8Str)] string explicit_path, out IntPtr json_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_log_open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, out PimLogHandle log_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_log_append(PimLogHandle log, [MarshalAs(UnmanagedType.LPUTF8Str)] string event_json, out IntPtr json_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_log_append_many(PimLogHandle log, [MarshalAs(UnmanagedType.LPUTF8Str)] string events_json, out IntPtr json_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern void pim_log_free(IntPtr log);
        [DllImport(Library)] internal static extern PimResult pim_log_read([MarshalAs(UnmanagedType.LPUTF8Str)] string path, [MarshalAs(UnmanagedType.LPUTF8Str)] string filter_json, out IntPtr json_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_log_decisions([MarshalAs(UnmanagedType.LPUTF8Str)] string path, [MarshalAs(UnmanagedType.LPUTF8Str)] string filter_json, out IntPtr json_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern PimResult pim_log_verify([MarshalAs(UnmanagedType.LPUTF8Str)] string path, out IntPtr json_out, out IntPtr err_out);
        [DllImport(Library)] internal static extern IntPtr pim_version();
        [DllImport(Library)] internal static extern uint pim_abi_version();
    }
}
