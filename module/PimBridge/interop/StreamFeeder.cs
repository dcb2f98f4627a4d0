// Requests handed to a stream operation (pim_op_push) in groups, so that a pipeline that confirms
// requests one at a time, but faster than a person, fills whole batches even when each request
// costs PowerShell longer than the library's linger divided by a batch: a group is pushed when it
// holds a batch's worth, when no request came for a short while (idle), when its first request
// has waited its longest, and on Flush. Used only when no prompt is shown: a person's "Yes" is
// pushed at once. Pushes keep the order of Add, and once a push fails nothing more is pushed, so
// the requests pushed are always the first ones added and the library's indexes stay the caller's.

using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;

namespace PimBridge.Interop
{
    /// <summary>Hands requests to a stream operation in groups (see the file's comment).</summary>
    public sealed class StreamFeeder : IDisposable
    {
        private readonly object gate = new object();
        private readonly PimOpHandle op;
        private readonly int full;
        private readonly int idleMs;
        private readonly int maxMs;
        private readonly List<string> waiting = new List<string>();
        private readonly Timer timer;
        private DateTime firstAt;
        private DateTime lastAt;
        private bool disposed;

        /// <param name="op">A stream operation (pim_approve_stream, pim_deny_stream).</param>
        /// <param name="full">How many requests make a group that is pushed at once.</param>
        /// <param name="idleMs">A group is pushed when no request came for this long.</param>
        /// <param name="maxMs">A group is pushed when its first request has waited this long.</param>
        public StreamFeeder(PimOpHandle op, int full, int idleMs, int maxMs)
        {
            this.op = op ?? throw new ArgumentNullException(nameof(op));
            this.full = Math.Max(1, full);
            this.idleMs = Math.Max(0, idleMs);
            this.maxMs = Math.Max(this.idleMs, maxMs);
            timer = new Timer(OnTimer, null, Timeout.Infinite, Timeout.Infinite);
        }

        /// <summary>How many requests were pushed: always the first ones added.</summary>
        public int Pushed { get { lock (gate) { return pushed; } } }
        private int pushed;

        /// <summary>How many requests wait to be pushed.</summary>
        public int Waiting { get { lock (gate) { return waiting.Count; } } }

        /// <summary>Why a push failed (for example InputClosed after a cancel); null while none has.</summary>
        public Exception Failure { get { lock (gate) { return failure; } } }
        private Exception failure;

        /// <summary>Adds one request (a JSON object as pim_approve takes in its array). Throws the failure of an earlier push.</summary>
        public void Add(string requestJson)
        {
            if (string.IsNullOrEmpty(requestJson)) throw new ArgumentException("A request is needed.", nameof(requestJson));
            lock (gate)
            {
                if (failure != null) throw failure;
                if (disposed) throw new ObjectDisposedException(nameof(StreamFeeder));
                DateTime now = DateTime.UtcNow;
                if (waiting.Count == 0) firstAt = now;
                lastAt = now;
                waiting.Add(requestJson);
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
            for (int i = 0; i < waiting.Count; i++)
            {
                if (i > 0) json.Append(',');
                json.Append(waiting[i]);
            }
            json.Append(']');
            try
            {
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
    }
}
