// An operation's trace (pim_op_take_trace) read into the lines -Verbose and -Debug show, and the
// wait a progress bar shows. Every text that came from the service (routes, request-ids, headers)
// is made inert (InertText) here, before PowerShell writes it. The library never puts the token,
// the Authorization value or cookies in a trace; this side adds nothing of them either.

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PimBridge.Interop
{
    /// <summary>One line for the verbose stream, or (Debug) for the debug stream.</summary>
    public sealed class TraceLine
    {
        internal TraceLine(bool debug, string text) { Debug = debug; Text = text; }

        /// <summary>True for the debug stream (headers), false for the verbose stream.</summary>
        public bool Debug { get; }
        public string Text { get; }
    }

    /// <summary>What one take of a trace gave: its lines, and the last wait in it, if any.</summary>
    public sealed class TraceDrain
    {
        internal TraceDrain(TraceLine[] lines, string waitReason, long waitMs, string waitText, string progressText, bool movedOn)
        {
            Lines = lines;
            WaitReason = waitReason;
            WaitMs = waitMs;
            WaitText = waitText;
            ProgressText = progressText;
            MovedOn = movedOn;
        }

        public TraceLine[] Lines { get; }
        /// <summary>The last wait's reason (throttled, serviceError, network, staleRead, notReplicated, unsettled), or null.</summary>
        public string WaitReason { get; }
        /// <summary>How long the last wait lasts, in milliseconds (0 without one).</summary>
        public long WaitMs { get; }
        /// <summary>The last wait as the verbose line says it, or null.</summary>
        public string WaitText { get; }
        /// <summary>The last wait, shortly, as a progress bar says it, or null.</summary>
        public string ProgressText { get; }
        /// <summary>A call was made after the last wait (or, without a wait, at all): any earlier wait is over.</summary>
        public bool MovedOn { get; }
    }

    /// <summary>Reads an operation's trace into lines and the wait to show.</summary>
    public static class TraceReader
    {
        /// <summary>Takes the operation's trace since the last take.</summary>
        public static TraceDrain Take(PimOpHandle op) => Read(PimNative.TakeTrace(op));

        /// <summary>Reads a trace as pim_op_take_trace writes it.</summary>
        public static TraceDrain Read(string json)
        {
            var lines = new List<TraceLine>();
            string waitReason = null, waitText = null, progressText = null;
            long waitMs = 0;
            bool movedOn = false;
            using (JsonDocument doc = JsonDocument.Parse(string.IsNullOrEmpty(json) ? "{}" : json))
            {
                JsonElement root = doc.RootElement;
                long dropped = Number(root, "dropped") ?? 0;
                if (dropped > 0)
                    lines.Add(new TraceLine(false, string.Format(CultureInfo.InvariantCulture,
                        "(The trace dropped {0} older event(s): more happened than it keeps.)", dropped)));
                if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("events", out JsonElement events) && events.ValueKind == JsonValueKind.Array)
                {
                    foreach (JsonElement e in events.EnumerateArray())
                    {
                        switch (Text(e, "kind"))
                        {
                            case "call": ReadCall(e, lines); movedOn = true; break;
                            case "batchItem": ReadBatchItem(e, lines); movedOn = true; break;
                            case "stageUnread":
                                lines.Add(new TraceLine(false, "Stage of request " + Inert(Text(e, "approvalId")) +
                                    " left empty: " + Inert(Text(e, "reason")) + "."));
                                break;
                            case "wait":
                                waitReason = Text(e, "reason") ?? "unsettled";
                                waitMs = Number(e, "ms") ?? 0;
                                waitText = WaitWords(e, waitReason, waitMs);
                                progressText = Why(e, waitReason, true) + ": waiting " + Seconds(waitMs);
                                movedOn = false;
                                lines.Add(new TraceLine(false, waitText));
                                break;
                        }
                    }
                }
            }
            return new TraceDrain(lines.ToArray(), waitReason, waitMs, waitText, progressText, movedOn);
        }

        private static void ReadCall(JsonElement e, List<TraceLine> lines)
        {
            string method = Inert(Text(e, "method"));
            string route = Inert(Text(e, "route"));
            long? status = Number(e, "status");
            long ms = Number(e, "ms") ?? 0;
            var text = new StringBuilder();
            text.Append("HTTP ").Append(method).Append(' ').Append(route).Append(": ");
            if (status.HasValue) text.Append(status.Value.ToString(CultureInfo.InvariantCulture));
            else text.Append("no answer (").Append(Inert(Text(e, "error")) ?? "unknown").Append(')');
            text.Append(" in ").Append(ms.ToString(CultureInfo.InvariantCulture)).Append(" ms");
            Ids(text, Text(e, "requestId"), Text(e, "clientRequestId"), null);
            lines.Add(new TraceLine(false, text.ToString()));
            Headers(e, "requestHeaders", method + " " + route + ": headers sent", "  > ", lines);
            Headers(e, "responseHeaders", method + " " + route + ": headers received", "  < ", lines);
        }

        private static void ReadBatchItem(JsonElement e, List<TraceLine> lines)
        {
            string method = Inert(Text(e, "method"));
            string route = Inert(Text(e, "route"));
            long? status = Number(e, "status");
            var text = new StringBuilder();
            text.Append("  $batch item ").Append(Inert(Text(e, "id"))).Append(": ").Append(method).Append(' ').Append(route).Append(": ");
            text.Append(status.HasValue ? status.Value.ToString(CultureInfo.InvariantCulture) : "no answer");
            Ids(text, Text(e, "requestId"), null, Number(e, "retryAfterMs"));
            lines.Add(new TraceLine(false, text.ToString()));
            Headers(e, "responseHeaders", "$batch item " + Inert(Text(e, "id")) + ": headers received", "  < ", lines);
        }

        private static void Ids(StringBuilder text, string requestId, string clientRequestId, long? retryAfterMs)
        {
            var parts = new List<string>();
            if (!string.IsNullOrEmpty(requestId)) parts.Add("request-id " + Inert(requestId));
            if (!string.IsNullOrEmpty(clientRequestId) && clientRequestId != requestId) parts.Add("client-request-id " + Inert(clientRequestId));
            if (retryAfterMs.HasValue) parts.Add("Retry-After " + Seconds(retryAfterMs.Value));
            if (parts.Count > 0) text.Append(" (").Append(string.Join(", ", parts)).Append(')');
        }

        private static void Headers(JsonElement e, string name, string what, string prefix, List<TraceLine> lines)
        {
            if (!e.TryGetProperty(name, out JsonElement headers) || headers.ValueKind != JsonValueKind.Array) return;
            lines.Add(new TraceLine(true, what));
            foreach (JsonElement pair in headers.EnumerateArray())
            {
                if (pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2) continue;
                string key = pair[0].GetString() ?? string.Empty;
                string value = pair[1].GetString() ?? string.Empty;
                // The library redacts these; this side makes sure of it.
                if (IsSecretHeader(key)) value = "<redacted>";
                lines.Add(new TraceLine(true, prefix + Inert(key) + ": " + Inert(value)));
            }
        }

        private static bool IsSecretHeader(string name)
        {
            return string.Equals(name, "authorization", StringComparison.OrdinalIgnoreCase)
                || string.Equals(name, "proxy-authorization", StringComparison.OrdinalIgnoreCase)
                || string.Equals(name, "cookie", StringComparison.OrdinalIgnoreCase)
                || string.Equals(name, "set-cookie", StringComparison.OrdinalIgnoreCase);
        }

        private static string Why(JsonElement e, string reason, bool shortly)
        {
            long? retryAfter = Number(e, "retryAfterMs");
            switch (reason)
            {
                case "throttled":
                    return (shortly ? "Throttled" : "throttled") + " by the service (HTTP 429" + (retryAfter.HasValue ? ", Retry-After " + Seconds(retryAfter.Value) : string.Empty) + ")";
                case "serviceError": return shortly ? "Service error (HTTP 5xx)" : "the service answered with an error (HTTP 5xx or 408)";
                case "network": return shortly ? "No answer from the service" : "no answer from the service (network, timeout or connection lost)";
                case "staleRead": return shortly ? "Reading a decision again (its answer was lost)" : "a decision's answer was lost and the approval still reads open: reading it once more (reads may be stale)";
                case "notReplicated": return shortly ? "Approval not found yet (HTTP 404)" : "the approval answered 404 (it may not have replicated yet)";
                default: return shortly ? "Requests not done yet" : "the service left requests undone";
            }
        }

        private static string WaitWords(JsonElement e, string reason, long ms)
        {
            string why = Why(e, reason, false);
            var text = new StringBuilder();
            text.Append("Waiting ").Append(Seconds(ms)).Append(" before trying again: ").Append(why);
            if (e.TryGetProperty("waiting", out JsonElement waiting) && waiting.ValueKind == JsonValueKind.Array && waiting.GetArrayLength() > 0)
            {
                var parts = new List<string>();
                foreach (JsonElement pair in waiting.EnumerateArray())
                {
                    if (pair.ValueKind == JsonValueKind.Array && pair.GetArrayLength() == 2)
                        parts.Add(pair[1].ToString() + " " + Inert(pair[0].GetString()));
                }
                text.Append(" [requests waiting: ").Append(string.Join(", ", parts)).Append(']');
            }
            return text.Append('.').ToString();
        }

        private static string Seconds(long ms)
        {
            return (ms / 1000.0).ToString("0.0##", CultureInfo.InvariantCulture) + " s";
        }

        private static string Inert(string text) => InertText.Sanitize(text, false);

        private static string Text(JsonElement e, string name)
        {
            return e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        }

        private static long? Number(JsonElement e, string name)
        {
            return e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long n) ? n : (long?)null;
        }
    }
}
