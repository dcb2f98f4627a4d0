// The one sanitiser of text from the service that a person is shown (issue 11, finding 1). A
// requester writes the justification, and whoever names a user, role, group or scope writes those
// names: any of them may hold escape sequences that move the cursor, erase lines or retitle the
// window, or bidirectional controls that reorder what is shown. Every view, prompt, error, warning
// and verbose text that shows such text passes it through here (PowerShell's Format-PimInertText
// and the ToInertText method the views call); the objects keep the original text.

using System.Globalization;
using System.Management.Automation;
using System.Text;

namespace PimBridge.Interop
{
    /// <summary>Text from the service made inert: what could steer a terminal written out as &lt;U+XXXX&gt;.</summary>
    public static class InertText
    {
        /// <summary>
        /// The value as PowerShell's Format-PimInertText gives it: $null, dates, durations and other
        /// value types unchanged (the view formats them; no one but .NET writes their text); strings,
        /// and anything else as PowerShell converts it to a string, made inert.
        /// </summary>
        public static object Format(object value, bool multiline)
        {
            object bare = value is PSObject wrapped ? wrapped.BaseObject : value;
            if (bare == null || bare is System.ValueType) return bare;
            string text = bare as string ?? LanguagePrimitives.ConvertTo<string>(value);
            return Sanitize(text, multiline);
        }

        /// <summary>
        /// The text with each character that could steer a terminal or reorder the text shown written
        /// out as &lt;U+XXXX&gt;: the C0 controls (NUL, BS, TAB, LF, CR, ESC, ...), DEL, the C1 controls
        /// (U+0080-U+009F, among them the 8-bit CSI U+009B), the bidirectional marks, embeddings,
        /// overrides and isolates (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and the
        /// line and paragraph separators (U+2028, U+2029). With <paramref name="multiline"/>, line
        /// feeds stay (CR LF counts as one). Text with none of them is returned as it is (the same
        /// string), which is the common case and costs one scan.
        /// </summary>
        public static string Sanitize(string text, bool multiline)
        {
            if (text == null) return null;
            int first = 0;
            while (first < text.Length && !IsUnsafe(text[first], false)) first++;
            if (first == text.Length) return text;
            if (multiline)
            {
                text = text.Replace("\r\n", "\n");
                first = 0;
            }
            var inert = new StringBuilder(text.Length + 16);
            inert.Append(text, 0, first);
            for (int i = first; i < text.Length; i++)
            {
                char c = text[i];
                if (IsUnsafe(c, multiline))
                {
                    inert.Append("<U+").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture)).Append('>');
                }
                else
                {
                    inert.Append(c);
                }
            }
            return inert.ToString();
        }

        private static bool IsUnsafe(char c, bool keepLineFeeds)
        {
            if (c <= '\u001F') return !(keepLineFeeds && c == '\n');
            if (c < '\u007F') return false;
            return c <= '\u009F'
                || c == '\u061C' || c == '\u200E' || c == '\u200F'
                || (c >= '\u2028' && c <= '\u202E')
                || (c >= '\u2066' && c <= '\u2069');
        }
    }
}
