// Requests handed to a stream operation (pim_op_push) in groups, each group's decision log
// intents written first (pim_log_append_many, one sync for the group), so that a pipeline that
// confirms requests one at a time, but faster than a person, fills whole batches and costs
// PowerShell one call per request: a group is pushed when it holds a batch's worth (one, when a
// person answers prompts: a "Yes" is sent at once), when no request came for a short while
// (idle), when its first request has waited its longest, and on Flush. A group whose intents
// cannot be written is never pushed. Pushes keep the order of Add, and once a group fails nothing
// more is pushed, so the requests pushed are always the first ones added, the library's indexes
// stay the caller's, and those with an intent but no push are the next ones (Intended - Pushed).

using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using System.Text;
using System.Text.Json;
using System.Threading;

namespace PimBridge.Interop
{
    /// <summary>Hands requests to a stream operation in groups (see the file's comment).</summary>
    public sealed class StreamFeeder : IDisposable
    {
        private readonly object gate = new object();
        private readonly PimOpHandle op;
        private readonly IDictionary log;
        private readonly string review;
        private readonly string justification;
        private readonly int full;
        private readonly int idleMs;
        private readonly int maxMs;
        private readonly List<Entry> waiting = new List<Entry>();
        private readonly Timer timer;
        private DateTime firstAt;
        private DateTime lastAt;
        private bool disposed;

        /// <param name="op">A stream operation (pim_approve_stream, pim_deny_stream).</param>
        /// <param name="log">The decision log (Open-PimDecisionLog's table, its Actor and Tenant set); null when it is off.</param>
        /// <param name="review">Approve or Deny.</param>
        /// <param name="justification">The run's justification, as its intents record it.</param>
        /// <param name="full">How many requests make a group that is pushed at once.</param>
        /// <param name="idleMs">A group is pushed when no request came for this long.</param>
        /// <param name="maxMs">A group is pushed when its first request has waited this long.</param>
        public StreamFeeder(PimOpHandle op, IDictionary log, string review, string justification, int full, int idleMs, int maxMs)
        {
            this.op = op ?? throw new ArgumentNullException(nameof(op));
            this.log = log;
            this.review = review ?? throw new ArgumentNullException(nameof(review));
            this.justification = justification;
            this.full = Math.Max(1, full);
            this.idleMs = Math.Max(0, idleMs);
            this.maxMs = Math.Max(this.idleMs, maxMs);
            timer = new Timer(OnTimer, null, Timeout.Infinite, Timeout.Infinite);
        }

        /// <summary>How many requests were pushed: always the first ones added.</summary>
        public int Pushed { get { lock (gate) { return pushed; } } }
        private int pushed;

        /// <summary>
        /// How many requests were cleared to be pushed, their intent written (or none needed: the
        /// log is off): always the first ones added. Those from Pushed up to here have an intent
        /// but were never sent; those after have no intent.
        /// </summary>
        public int Intended { get { lock (gate) { return intended; } } }
        private int intended;

        /// <summary>
        /// How many requests this process has handed to any stream operation, counted before each
        /// push: a listing that reads it before and after its pages knows whether a decision may
        /// have been sent in between.
        /// </summary>
        public static long Handed => Interlocked.Read(ref handed);
        private static long handed;

        /// <summary>How many requests wait to be pushed.</summary>
        public int Waiting { get { lock (gate) { return waiting.Count; } } }

        /// <summary>Why a push failed (for example InputClosed after a cancel); null while none has.</summary>
        public Exception Failure { get { lock (gate) { return failure; } } }
        private Exception failure;

        /// <summary>
        /// Adds one target (what DecisionInput.ToTarget made): its request and its intent are
        /// made now, on the caller's thread. Throws the failure of this push (a full group) or of an
        /// earlier one.
        /// </summary>
        public void Add(object target)
        {
            if (target == null) throw new ArgumentNullException(nameof(target));
            var entry = new Entry
            {
                ApprovalId = DecisionLogEvents.Text(PSObject.AsPSObject(target).Properties["ApprovalId"]?.Value),
                Request = Request(target),
                Intent = log == null ? null : DecisionLogEvents.Intent(log, target, review, justification),
            };
            lock (gate)
            {
                if (failure != null) throw failure;
                if (disposed) throw new ObjectDisposedException(nameof(StreamFeeder));
                DateTime now = DateTime.UtcNow;
                if (waiting.Count == 0) firstAt = now;
                lastAt = now;
                waiting.Add(entry);
                if (waiting.Count >= full)
                {
                    PushLocked();
                    if (failure != null) throw failure;
                    return;
                }
                Schedule(now);
            }
        }

        /// <summary>Pushes what waits, now. Throws the failure of this push or an earlier one.</summary>
        public void Flush()
        {
            lock (gate)
            {
                if (failure == null && !disposed && waiting.Count > 0) PushLocked();
                if (failure != null) throw failure;
            }
        }

        /// <summary>Stops: what still waits is dropped, never pushed.</summary>
        public void Dispose()
        {
            lock (gate)
            {
                disposed = true;
                waiting.Clear();
            }
            timer.Dispose();
        }

        private void Schedule(DateTime now)
        {
            // The earlier of: idle after the last request, the longest wait after the first.
            DateTime due = lastAt.AddMilliseconds(idleMs);
            DateTime cap = firstAt.AddMilliseconds(maxMs);
            if (cap < due) due = cap;
            long ms = Math.Max(0L, (long)Math.Ceiling((due - now).TotalMilliseconds));
            timer.Change(ms, Timeout.Infinite);
        }

        private void OnTimer(object state)
        {
            lock (gate)
            {
                if (disposed || failure != null || waiting.Count == 0) return;
                DateTime now = DateTime.UtcNow;
                if (now < lastAt.AddMilliseconds(idleMs) && now < firstAt.AddMilliseconds(maxMs))
                {
                    Schedule(now);
                    return;
                }
                PushLocked();
            }
        }

        private void PushLocked()
        {
            var json = new StringBuilder("[");
            var intents = new List<string>(waiting.Count);
            for (int i = 0; i < waiting.Count; i++)
            {
                if (i > 0) json.Append(',');
                json.Append(waiting[i].Request);
                if (waiting[i].Intent != null) intents.Add(waiting[i].Intent);
            }
            json.Append(']');
            try
            {
                // The intents first: a group whose intents are not written is not sent.
                if (log != null) DecisionLogEvents.AppendIntents(log, intents, waiting[0].ApprovalId, review);
                intended += waiting.Count;
                Interlocked.Add(ref handed, waiting.Count);
                PimNative.Push(op, json.ToString());
                pushed += waiting.Count;
            }
            catch (Exception e)
            {
                failure = e;
            }
            waiting.Clear();
            timer.Change(Timeout.Infinite, Timeout.Infinite);
        }

        // A request as pim_op_push takes it: a surface only when the caller named one (for an id
        // alone the library finds it).
        private static string Request(object target)
        {
            PSMemberInfoCollection<PSPropertyInfo> t = PSObject.AsPSObject(target).Properties;
            using (var stream = new MemoryStream())
            {
                using (var w = new Utf8JsonWriter(stream))
                {
                    w.WriteStartObject();
                    w.WriteString("approvalId", DecisionLogEvents.Text(t["ApprovalId"]?.Value));
                    w.WriteString("principalId", DecisionLogEvents.Text(t["PrincipalId"]?.Value));
                    string surface = DecisionLogEvents.Text(t["Surface"]?.Value);
                    if (!string.IsNullOrEmpty(surface)) w.WriteString("surface", surface);
                    w.WriteEndObject();
                }
                return Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
            }
        }

        private sealed class Entry
        {
            public string ApprovalId;
            public string Request;
            public string Intent;
        }
    }
}
