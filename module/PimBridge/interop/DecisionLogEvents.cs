// The decision log's events (pim_log_append's JSON), built from what the module decides, and
// written a group at a time (pim_log_append_many: one lock and one sync for the group, all of it
// or none). Built here rather than as PowerShell hashtables: a run writes two per request.
//
// The log is the module's own table for it (Open-PimDecisionLog): Handle, Path, Actor, Tenant.
// A target is what DecisionInput.ToTarget made: ApprovalId, Surface, TokenSurface,
// PrincipalId, Principal, Role, InputObject, and Rule when a policy decided it.

using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using System.Text;
using System.Text.Json;

namespace PimBridge.Interop
{
    /// <summary>Decision log events: built, and appended a group at a time.</summary>
    public static class DecisionLogEvents
    {
        /// <summary>The intent of one target, written before it is sent.</summary>
        public static string Intent(IDictionary log, object target, string review, string justification)
        {
            return Write(log, "intent", target, review, justification, null, null, null, null);
        }

        /// <summary>
        /// The outcome of one target: <paramref name="result"/> (Approved, Denied, Failed, Unknown),
        /// the error's kind and the service's request-id (each null when there is none), and the
        /// surface that had it (null: the one the intent named).
        /// </summary>
        public static string Outcome(IDictionary log, object target, string review, string justification, string result, string error, string requestId, string surface)
        {
            return Write(log, "outcome", target, review, justification, result, error, requestId, surface);
        }

        /// <summary>Appends events (JSON) to the log, in order, all or none. Throws the library's PimNativeException.</summary>
        public static void Append(IDictionary log, IReadOnlyList<string> events)
        {
            if (events.Count == 0) return;
            DecisionLogNative.AppendMany(Handle(log), "[" + string.Join(",", events) + "]");
        }

        /// <summary>
        /// Appends the intents of a group about to be sent, all or none. When they cannot be written,
        /// nothing of the group may be sent: throws a PimNativeException (LogWriteFailed,
        /// LogTampered, or InvalidInput for an event the log refuses) that says so and names the
        /// group's first request.
        /// </summary>
        public static void AppendIntents(IDictionary log, IReadOnlyList<string> intents, string firstApprovalId, string review)
        {
            try
            {
                Append(log, intents);
            }
            catch (Exception e)
            {
                PimResult code = e is PimNativeException native ? native.Code : PimResult.LogWriteFailed;
                string others = intents.Count > 1 ? $" (and {intents.Count - 1} more of its group)" : string.Empty;
                string message = $"The decision log '{log["Path"]}' could not record the intent to {review.ToLowerInvariant()} request '{firstApprovalId}'{others}, so nothing was sent: {e.Message}";
                throw new PimNativeException(code, message, 0, null, null);
            }
        }

        private static PimLogHandle Handle(IDictionary log)
        {
            return DecisionInput.Bare(log["Handle"]) as PimLogHandle
                ?? throw new ArgumentException("The decision log is not open.", nameof(log));
        }

        private static string Write(IDictionary log, string kind, object target, string review, string justification, string result, string error, string requestId, string surface)
        {
            PSMemberInfoCollection<PSPropertyInfo> t = PSObject.AsPSObject(target).Properties;
            // Who and where as the input said it (a person reads the UPN), else as the target names them.
            object input = DecisionInput.Bare(t["InputObject"]?.Value);
            string upn = null;
            string scope = null;
            if (input != null && !(input is string))
            {
                upn = NonEmpty(DecisionInput.ReadField(input, "PrincipalUpn"));
                scope = NonEmpty(DecisionInput.ReadField(input, "Scope"));
            }
            // An id given alone names the surface it points to in its intent; its outcome names the one that had it.
            string named = string.IsNullOrEmpty(surface) ? null : surface;
            named = named ?? NonEmpty(t["Surface"]?.Value) ?? Text(t["TokenSurface"]?.Value);
            using (var stream = new MemoryStream())
            {
                using (var w = new Utf8JsonWriter(stream))
                {
                    w.WriteStartObject();
                    w.WriteString("kind", kind);
                    w.WriteString("tenant", Text(log["Tenant"]));
                    w.WriteString("actor", Text(log["Actor"]));
                    w.WriteString("surface", named);
                    w.WriteString("approvalId", Text(t["ApprovalId"]?.Value));
                    w.WriteString("action", review);
                    w.WriteString("principal", upn ?? Text(t["Principal"]?.Value));
                    w.WriteString("principalId", Text(t["PrincipalId"]?.Value));
                    w.WriteString("role", Text(t["Role"]?.Value));
                    w.WriteString("scope", scope);
                    w.WriteString("justification", justification);
                    w.WriteString("rule", Text(t["Rule"]?.Value));
                    if (result != null) w.WriteString("result", result);
                    if (!string.IsNullOrEmpty(error)) w.WriteString("error", error);
                    if (!string.IsNullOrEmpty(requestId)) w.WriteString("requestId", requestId);
                    w.WriteEndObject();
                }
                return Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
            }
        }

        // A value as PowerShell's [string] makes it; null stays null.
        internal static string Text(object value)
        {
            value = DecisionInput.Bare(value);
            return value == null ? null : value as string ?? LanguagePrimitives.ConvertTo<string>(value);
        }

        private static string NonEmpty(object value)
        {
            string text = Text(value);
            return string.IsNullOrEmpty(text) ? null : text;
        }
    }
}
