// The native library's results, read from its UTF-8 JSON into the module's objects in one pass
// (System.Text.Json's Utf8JsonReader, by hand: no reflection, nothing generated, nothing per item
// but the object itself). A listed request becomes a PimBridge.PendingRequest, or, when it cannot
// be read, a PimNativeException naming it, for the module to report and go on; a decision result
// becomes a DecisionResult. Unknown fields are skipped, so the library may add fields.

using System;
using System.Buffers;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PimBridge.Interop
{
    /// <summary>One decision result: the Decision, where it goes in the caller's list, and its error.</summary>
    public sealed class DecisionResult
    {
        internal DecisionResult(int index, Decision decision, PimNativeException error, string errorKind)
        {
            Index = index;
            Decision = decision;
            Error = error;
            ErrorKind = errorKind;
        }

        /// <summary>The position of the request in the list sent to the library.</summary>
        public int Index { get; }
        /// <summary>The outcome, without Principal and Role (the module names them as the request piped in did).</summary>
        public Decision Decision { get; }
        /// <summary>Why it failed, as an exception; null when it did not.</summary>
        public PimNativeException Error { get; }
        /// <summary>The error's kind as the library names it (e.g. Unauthorized), even one this assembly has no code for; null without an error.</summary>
        public string ErrorKind { get; }
    }

    /// <summary>Reads the native library's JSON results into the module's objects.</summary>
    public static class ResultReader
    {
        // The fields of a listed request and of a decision result that are read; others are skipped.
        private static readonly string[] RequestFields =
        {
            "approvalId", "requestId", "surface", "principalId", "principalName", "principalUpn", "roleId", "roleName",
            "scopeId", "scopeName", "justification", "ticketSystem", "ticketNumber", "createdAt", "startsAt",
            "duration", "durationSeconds", "endsAt", "action", "status", "groupName", "accessType", "error", "stage",
        };
        private const int ApprovalId = 0, RequestId = 1, Surface = 2, PrincipalId = 3, PrincipalName = 4, PrincipalUpn = 5,
            RoleId = 6, RoleName = 7, ScopeId = 8, ScopeName = 9, Justification = 10, TicketSystem = 11, TicketNumber = 12,
            CreatedAt = 13, StartsAt = 14, DurationText = 15, DurationSeconds = 16, EndsAt = 17, Action = 18, Status = 19,
            GroupName = 20, AccessType = 21, RequestError = 22, Stage = 23;

        private static readonly string[] DecisionFields = { "index", "approvalId", "surface", "result", "decidedAt", "error" };
        private const int Index = 0, DecisionApprovalId = 1, DecisionSurface = 2, Result = 3, DecidedAt = 4, DecisionError = 5;

        private static readonly byte[][] RequestNames = Utf8(RequestFields);
        private static readonly byte[][] DecisionNames = Utf8(DecisionFields);

        /// <summary>
        /// Takes the requests an operation of pim_list_pending listed since the last call: each a
        /// PendingRequest, or a PimNativeException naming a request that could not be read.
        /// </summary>
        public static object[] TakePendingRequests(PimOpHandle op) => ReadPendingRequests(PimNative.TakeResults(op));

        /// <summary>Takes the results a pim_approve or pim_deny operation produced since the last call.</summary>
        public static DecisionResult[] TakeDecisionResults(PimOpHandle op) => ReadDecisionResults(PimNative.TakeResults(op));

        /// <summary>
        /// Takes the results an operation produced since the last call and adds them to
        /// <paramref name="into"/>, in one call: a pipeline stopped in the middle of a script can
        /// lose nothing taken. Returns how many were added.
        /// </summary>
        public static int TakeDecisionResults(PimOpHandle op, List<DecisionResult> into)
        {
            if (into == null) throw new ArgumentNullException(nameof(into));
            DecisionResult[] taken = TakeDecisionResults(op);
            into.AddRange(taken);
            return taken.Length;
        }

        /// <summary>A JSON array of listed requests: each a PendingRequest, or a PimNativeException naming one that could not be read.</summary>
        public static object[] ReadPendingRequests(string json)
        {
            var items = new List<object>();
            ReadArray(json, RequestNames, (fields, raw) =>
            {
                object item = ToPendingRequest(fields);
                if (item is PendingRequest request && raw != null) SourceJson.AddOrUpdate(request, raw);
                items.Add(item);
            }, true);
            return items.ToArray();
        }

        // Each listed request's own JSON, as the library wrote it, for the policy to read back
        // (every fact, ticket system and number apart): kept beside the object, not on it, so the
        // object's properties stay as they are.
        private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<PendingRequest, string> SourceJson =
            new System.Runtime.CompilerServices.ConditionalWeakTable<PendingRequest, string>();

        /// <summary>The library's JSON for a request this reader listed; null for one made elsewhere.</summary>
        public static string GetSourceJson(PendingRequest request)
        {
            return request != null && SourceJson.TryGetValue(request, out string json) ? json : null;
        }

        /// <summary>A JSON array of decision results.</summary>
        public static DecisionResult[] ReadDecisionResults(string json)
        {
            var items = new List<DecisionResult>();
            ReadArray(json, DecisionNames, (fields, raw) => items.Add(ToDecisionResult(fields)), false);
            return items.ToArray();
        }

        /// <summary>
        /// ISO 8601 text to local time, as PowerShell's [datetime]::TryParse reads it (invariant
        /// culture, UTC unless it says otherwise); null for none (null or empty) and for text that
        /// is not a date (then <paramref name="ok"/> is false).
        /// </summary>
        public static DateTime? ToLocalDate(string text, out bool ok)
        {
            ok = true;
            if (string.IsNullOrEmpty(text)) return null;
            const DateTimeStyles styles = DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal;
            if (DateTime.TryParse(text, CultureInfo.InvariantCulture, styles, out DateTime parsed)) return parsed.ToLocalTime();
            ok = false;
            return null;
        }

        private static object ToPendingRequest(object[] f)
        {
            string surface = Text(f[Surface]);
            string approvalId = Text(f[ApprovalId]);
            if (f[RequestError] is Hashtable error)
            {
                // The library could not read it: one error, named, and the listing goes on.
                PimNativeException exception = PimNativeException.FromResult(error);
                if (string.IsNullOrEmpty(approvalId) || (exception.Message ?? string.Empty).Contains(approvalId)) return exception;
                return Renamed(exception, string.Format(CultureInfo.InvariantCulture,
                    "The {0} request '{1}' could not be read: {2}", surface, approvalId, exception.Message));
            }

            List<string> problems = null;
            DateTime? createdAt = Date(f[CreatedAt], "createdAt", ref problems);
            DateTime? startsAt = Date(f[StartsAt], "startsAt", ref problems);
            DateTime? endsAt = Date(f[EndsAt], "endsAt", ref problems);
            TimeSpan? duration = null;
            if (f[DurationSeconds] != null)
            {
                duration = Seconds(f[DurationSeconds]);
                if (duration == null)
                {
                    (problems ??= new List<string>()).Add(string.Format(CultureInfo.InvariantCulture,
                        "its duration '{0}' is longer than this module can hold", Text(f[DurationText])));
                }
            }
            if (problems != null)
            {
                return new PimNativeException(PimResult.InvalidResponse, string.Format(CultureInfo.InvariantCulture,
                    "The {0} request '{1}' could not be read: {2}. It is left out; the other requests are listed.",
                    surface, approvalId, string.Join("; ", problems)), 0, null, null);
            }

            string ticketSystem = Blank(Text(f[TicketSystem]));
            string ticketNumber = Blank(Text(f[TicketNumber]));
            string ticket = (ticketSystem + " " + ticketNumber).Trim();
            return new PendingRequest
            {
                ApprovalId = approvalId,
                RequestId = Text(f[RequestId]),
                Surface = surface,
                Principal = FirstOf(Text(f[PrincipalName]), Text(f[PrincipalUpn]), Text(f[PrincipalId])),
                PrincipalUpn = Text(f[PrincipalUpn]),
                PrincipalId = Text(f[PrincipalId]),
                Role = FirstOf(Text(f[RoleName]), Text(f[RoleId])),
                RoleId = Text(f[RoleId]),
                Scope = FirstOf(Text(f[ScopeName]), Text(f[ScopeId])),
                ScopeId = Text(f[ScopeId]),
                Justification = Text(f[Justification]),
                Ticket = ticket.Length > 0 ? ticket : null,
                CreatedAt = createdAt,
                StartsAt = startsAt,
                Duration = duration,
                EndsAt = endsAt,
                Action = Text(f[Action]),
                Status = Text(f[Status]),
                Group = Text(f[GroupName]),
                AccessType = Text(f[AccessType]),
                TicketSystem = ticketSystem,
                TicketNumber = ticketNumber,
                // The service gives no expiry: approvers have 24 hours from creation (see ExpiresAt).
                ExpiresAt = createdAt?.Add(UnansweredExpiry),
                Stage = Text(f[Stage]),
            };
        }

        private static DecisionResult ToDecisionResult(object[] f)
        {
            PimNativeException exception = null;
            string kind = null;
            string message = null;
            if (f[DecisionError] is Hashtable error)
            {
                exception = PimNativeException.FromResult(error);
                kind = error["kind"] as string;
                message = error["message"] as string;
            }
            // A decision made is reported even when the service's time for it cannot be read (null).
            DateTime? decidedAt = ToLocalDate(Text(f[DecidedAt]), out bool _);
            var decision = new Decision
            {
                ApprovalId = Text(f[DecisionApprovalId]),
                Surface = Text(f[DecisionSurface]),
                Result = Text(f[Result]),
                DecidedAt = decidedAt,
                Error = message,
            };
            int index = f[Index] is long n && n >= 0 && n <= int.MaxValue ? (int)n : -1;
            return new DecisionResult(index, decision, exception, kind);
        }

        /// <summary>How long a request waits unanswered before it expires (docs/service-fidelity.md).</summary>
        public static readonly TimeSpan UnansweredExpiry = TimeSpan.FromHours(24);

        /// <summary>Null for null, empty or blank text.</summary>
        private static string Blank(string text) => string.IsNullOrWhiteSpace(text) ? null : text;

        private static PimNativeException Renamed(PimNativeException e, string message) =>
            new PimNativeException(e.Code, message, e.HttpStatus, e.ServiceCode, e.RequestId);

        private static DateTime? Date(object value, string field, ref List<string> problems)
        {
            string text = Text(value);
            DateTime? date = ToLocalDate(text, out bool ok);
            if (!ok)
            {
                (problems ??= new List<string>()).Add(string.Format(CultureInfo.InvariantCulture, "its {0} '{1}' is not a date", field, text));
            }
            return date;
        }

        /// <summary>A number of seconds as a TimeSpan; null for what no TimeSpan holds, or what is no number.</summary>
        private static TimeSpan? Seconds(object value)
        {
            double seconds;
            if (value is double d) seconds = d;
            else if (value is long l) seconds = l;
            else return null;
            if (!(Math.Abs(seconds) < TimeSpan.MaxValue.TotalSeconds)) return null;
            try { return TimeSpan.FromSeconds(seconds); }
            catch (OverflowException) { return null; }
        }

        private static string FirstOf(string a, string b, string c = null) =>
            !string.IsNullOrEmpty(a) ? a : !string.IsNullOrEmpty(b) ? b : c;

        /// <summary>A scalar as text (numbers as JSON wrote them); null for null.</summary>
        private static string Text(object value)
        {
            switch (value)
            {
                case null: return null;
                case string s: return s;
                case bool b: return b ? "true" : "false";
                case IFormattable n: return n.ToString(null, CultureInfo.InvariantCulture);
                default: return value.ToString();
            }
        }

        // ---- reading ---------------------------------------------------------------------------

        /// <summary>Reads a JSON array of objects, handing each object's known fields (by index in <paramref name="names"/>) to <paramref name="each"/>.</summary>
        /// <remarks>With <paramref name="keepRaw"/>, each object's own JSON text is handed over too (else null).</remarks>
        private static void ReadArray(string json, byte[][] names, Action<object[], string> each, bool keepRaw)
        {
            if (string.IsNullOrEmpty(json)) return;
            byte[] utf8 = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetByteCount(json));
            try
            {
                int length = Encoding.UTF8.GetBytes(json, 0, json.Length, utf8, 0);
                var reader = new Utf8JsonReader(new ReadOnlySpan<byte>(utf8, 0, length), new JsonReaderOptions { MaxDepth = 64 });
                Expect(ref reader, JsonTokenType.StartArray);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        reader.Skip();
                        continue;
                    }
                    long start = reader.TokenStartIndex;
                    var fields = new object[names.Length];
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        int field = FieldOf(ref reader, names);
                        reader.Read();
                        if (field < 0) reader.Skip();
                        else fields[field] = PimJson.ReadValue(ref reader);
                    }
                    string raw = keepRaw ? Encoding.UTF8.GetString(utf8, (int)start, (int)(reader.BytesConsumed - start)) : null;
                    each(fields, raw);
                }
            }
            catch (JsonException e)
            {
                throw new PimNativeException(PimResult.InvalidResponse, "The native library's results could not be read: " + e.Message, 0, null, null);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(utf8);
            }
        }

        private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
        {
            if (!reader.Read() || reader.TokenType != type)
            {
                throw new PimNativeException(PimResult.InvalidResponse, "The native library's results are not a JSON array.", 0, null, null);
            }
        }

        private static int FieldOf(ref Utf8JsonReader reader, byte[][] names)
        {
            for (int i = 0; i < names.Length; i++)
            {
                if (reader.ValueTextEquals(names[i])) return i;
            }
            return -1;
        }

        private static byte[][] Utf8(string[] names)
        {
            var bytes = new byte[names.Length][];
            for (int i = 0; i < names.Length; i++) bytes[i] = Encoding.UTF8.GetBytes(names[i]);
            return bytes;
        }
    }
}
