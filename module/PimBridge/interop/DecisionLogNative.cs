// The decision log from PowerShell (pim_log_*): where it is, appending an intent or an outcome,
// reading lines or decisions, and checking the hash chain. The library holds the file lock and
// writes the lines; the module never writes the file itself and never hands it a token.

using System;
using System.Collections.Generic;
using System.Text;
using System.Text.Json;

namespace PimBridge.Interop
{
    /// <summary>What PowerShell calls for the decision log: SafeHandles, strings and exceptions.</summary>
    public static class DecisionLogNative
    {
        static DecisionLogNative() { NativeLibraryLocator.Register(); }

        /// <summary>
        /// Where the log is: {"path", "source": "parameter" | "environment" | "default", "enabled"}
        /// as JSON. <paramref name="explicitPath"/> is -LogPath (null or empty: not given); "off"
        /// switches the log off. A relative path throws (InvalidInput).
        /// </summary>
        public static string ResolvePath(string explicitPath)
        {
            PimResult rc = NativeMethods.pim_log_resolve_path(string.IsNullOrEmpty(explicitPath) ? null : explicitPath, out IntPtr json, out IntPtr err);
            PimNative.Check(rc, err);
            return NativeString.Take(json);
        }

        /// <summary>Opens the log for appending (making its folder and file); a place that cannot be written throws LogWriteFailed.</summary>
        public static PimLogHandle Open(string path)
        {
            PimResult rc = NativeMethods.pim_log_open(path, out PimLogHandle log, out IntPtr err);
            PimNative.Check(rc, err);
            return log;
        }

        /// <summary>Appends one event (JSON); returns the line as written. Throws LogWriteFailed, LogTampered or InvalidInput, and then nothing was written.</summary>
        public static string Append(PimLogHandle log, string eventJson)
        {
            PimResult rc = NativeMethods.pim_log_append(log, eventJson, out IntPtr json, out IntPtr err);
            PimNative.Check(rc, err);
            return NativeString.Take(json);
        }

        /// <summary>
        /// Appends several events (a JSON array) in order, under one lock and with one sync: all of
        /// them or none. Returns the lines as written (a JSON array). Throws as Append, and then
        /// nothing was written.
        /// </summary>
        public static string AppendMany(PimLogHandle log, string eventsJson)
        {
            PimResult rc = NativeMethods.pim_log_append_many(log, eventsJson, out IntPtr json, out IntPtr err);
            PimNative.Check(rc, err);
            return NativeString.Take(json);
        }

        /// <summary>The log's lines as a JSON array, filtered by <paramref name="filterJson"/> (may be null).</summary>
        public static string Read(string path, string filterJson)
        {
            PimResult rc = NativeMethods.pim_log_read(path, filterJson, out IntPtr json, out IntPtr err);
            PimNative.Check(rc, err);
            return NativeString.Take(json);
        }

        /// <summary>The log's decisions (each intent with its outcome; none: Unknown) as a JSON array.</summary>
        public static string Decisions(string path, string filterJson)
        {
            PimResult rc = NativeMethods.pim_log_decisions(path, filterJson, out IntPtr json, out IntPtr err);
            PimNative.Check(rc, err);
            return NativeString.Take(json);
        }

        /// <summary>The chain's check: {path, isValid, lines, firstBrokenLine, reason, detail, lastHash} as JSON.</summary>
        public static string Verify(string path)
        {
            PimResult rc = NativeMethods.pim_log_verify(path, out IntPtr json, out IntPtr err);
            PimNative.Check(rc, err);
            return NativeString.Take(json);
        }

        /// <summary>A JSON array of objects as Hashtables (keys in any case); other items are passed over.</summary>
        public static System.Collections.Hashtable[] ReadObjects(string json)
        {
            var items = new List<System.Collections.Hashtable>();
            if (string.IsNullOrEmpty(json)) return items.ToArray();
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json), new JsonReaderOptions { MaxDepth = 64 });
            try
            {
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
                {
                    throw new PimNativeException(PimResult.InvalidResponse, "The native library's answer is not a JSON array.", 0, null, null);
                }
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (PimJson.ReadValue(ref reader) is System.Collections.Hashtable item) items.Add(item);
                }
            }
            catch (JsonException e)
            {
                throw new PimNativeException(PimResult.InvalidResponse, "The native library's answer could not be read: " + e.Message, 0, null, null);
            }
            return items.ToArray();
        }
    }
}
