// The small JSON documents the module hands the native library (client and listing options, the
// requests to decide) and the small ones it reads back (the surfaces, a token's claims), with
// System.Text.Json's Utf8JsonWriter and Utf8JsonReader: nothing of PowerShell's ConvertTo-Json or
// ConvertFrom-Json, which cost a module load and a JIT on a session's first call.

using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Management.Automation;
using System.Text;
using System.Text.Json;

namespace PimBridge.Interop
{
    /// <summary>One PIM surface as the native library describes it (pim_surfaces).</summary>
    public sealed class SurfaceInfo
    {
        internal SurfaceInfo(string name, string service, string[] readScopes, string[] decideScopes)
        {
            Name = name;
            Service = service;
            ReadScopes = readScopes;
            DecideScopes = decideScopes;
        }

        /// <summary>DirectoryRole, Group, AzureResource.</summary>
        public string Name { get; }
        /// <summary>graph or arm: which token and endpoint the surface takes.</summary>
        public string Service { get; }
        /// <summary>The delegated scopes, any one of which lets an approver list its requests.</summary>
        public string[] ReadScopes { get; }
        /// <summary>The delegated scopes, any one of which lets an approver decide its requests.</summary>
        public string[] DecideScopes { get; }
    }

    /// <summary>JSON to and from the native library, for documents other than results.</summary>
    public static class PimJson
    {
        /// <summary>
        /// A value as compact JSON: dictionaries as objects (keys as given), other enumerables as
        /// arrays, strings, numbers, booleans and null as themselves; anything else as its text.
        /// </summary>
        public static string Write(object value)
        {
            using (var stream = new MemoryStream())
            {
                using (var writer = new Utf8JsonWriter(stream))
                {
                    WriteValue(writer, value, 0);
                }
                return Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
            }
        }

        /// <summary>A JSON object as a Hashtable (keys in any case), nested objects as Hashtables and arrays as object[].</summary>
        public static Hashtable ReadObject(string json)
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json ?? string.Empty));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new PimNativeException(PimResult.InvalidResponse, "The native library's answer is not a JSON object.", 0, null, null);
            }
            return (Hashtable)ReadValue(ref reader);
        }

        /// <summary>The surfaces, from pim_surfaces' JSON array.</summary>
        public static SurfaceInfo[] ReadSurfaces(string json)
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json ?? string.Empty));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                throw new PimNativeException(PimResult.InvalidResponse, "The native library's surfaces are not a JSON array.", 0, null, null);
            }
            var surfaces = new List<SurfaceInfo>();
            foreach (object item in (object[])ReadArrayBody(ref reader))
            {
                if (item is Hashtable s)
                {
                    surfaces.Add(new SurfaceInfo(s["name"] as string, s["service"] as string, Strings(s["readScopes"]), Strings(s["decideScopes"])));
                }
            }
            return surfaces.ToArray();
        }

        /// <summary>
        /// The value the reader is on: a string, a long or a double, a bool, null, an object as a
        /// Hashtable (keys in any case), an array as object[].
        /// </summary>
        internal static object ReadValue(ref Utf8JsonReader reader)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.String: return reader.GetString();
                case JsonTokenType.Number: return reader.TryGetInt64(out long whole) ? (object)whole : reader.GetDouble();
                case JsonTokenType.True: return true;
                case JsonTokenType.False: return false;
                case JsonTokenType.StartObject:
                    var table = new Hashtable(StringComparer.OrdinalIgnoreCase);
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        string key = reader.GetString();
                        reader.Read();
                        table[key] = ReadValue(ref reader);
                    }
                    return table;
                case JsonTokenType.StartArray: return ReadArrayBody(ref reader);
                default: return null;
            }
        }

        private static object ReadArrayBody(ref Utf8JsonReader reader)
        {
            var list = new List<object>();
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) list.Add(ReadValue(ref reader));
            return list.ToArray();
        }

        private static string[] Strings(object value)
        {
            var strings = new List<string>();
            if (value is object[] items)
            {
                foreach (object item in items)
                {
                    if (item is string s) strings.Add(s);
                }
            }
            return strings.ToArray();
        }

        private static void WriteValue(Utf8JsonWriter writer, object value, int depth)
        {
            if (depth > 16) throw new ArgumentException("The value is nested too deeply to write as JSON.");
            if (value is PSObject wrapped) value = wrapped.BaseObject;
            switch (value)
            {
                case null:
                    writer.WriteNullValue();
                    break;
                case string s:
                    writer.WriteStringValue(s);
                    break;
                case bool b:
                    writer.WriteBooleanValue(b);
                    break;
                case byte _: case sbyte _: case short _: case ushort _: case int _: case uint _: case long _:
                    writer.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                    break;
                case ulong u:
                    writer.WriteNumberValue(u);
                    break;
                case float _: case double _: case decimal _:
                    writer.WriteNumberValue(Convert.ToDouble(value, CultureInfo.InvariantCulture));
                    break;
                case IDictionary dictionary:
                    writer.WriteStartObject();
                    foreach (DictionaryEntry entry in dictionary)
                    {
                        writer.WritePropertyName(Convert.ToString(entry.Key, CultureInfo.InvariantCulture));
                        WriteValue(writer, entry.Value, depth + 1);
                    }
                    writer.WriteEndObject();
                    break;
                case IEnumerable items:
                    writer.WriteStartArray();
                    foreach (object item in items) WriteValue(writer, item, depth + 1);
                    writer.WriteEndArray();
                    break;
                default:
                    writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                    break;
            }
        }
    }
}
