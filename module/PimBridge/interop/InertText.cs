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
        /// The text with each character that could steer a terminal, reorder the text shown or hide
        /// text written out as &lt;U+XXXX&gt;: the C0 controls (NUL, BS, TAB, LF, CR, ESC, ...), DEL,
        /// the C1 controls (U+0080-U+009F, among them the 8-bit CSI U+009B), the invisible format
        /// characters (Unicode's category Cf: the bidirectional marks, embeddings, overrides and
        /// isolates, zero-width spaces, the byte-order mark, the tag characters U+E0020-U+E007F that
        /// can carry a hidden message; but the zero-width joiner and non-joiner that emoji and many
        /// scripts need), the blank-looking fillers (U+2800, U+3164, U+FFA0), the line and paragraph
        /// separators (U+2028, U+2029), and half a surrogate pair. With <paramref name="multiline"/>,
        /// line feeds stay (CR LF counts as one). Text with none of them is returned as it is (the
        /// same string), which is the common case and costs one scan.
        /// </summary>
        public static string Sanitize(string text, bool multiline)
        {
            if (text == null) return null;
            int first = 0;
            int length;
            while (first < text.Length && !IsUnsafe(text, first, false, out length)) first += length;
            if (first == text.Length) return text;
            if (multiline)
            {
                text = text.Replace("\r\n", "\n");
                first = 0;
            }
            var inert = new StringBuilder(text.Length + 16);
            inert.Append(text, 0, first);
            for (int i = first; i < text.Length; i += length)
            {
                if (IsUnsafe(text, i, multiline, out length))
                {
                    int codePoint = length == 2 ? char.ConvertToUtf32(text[i], text[i + 1]) : text[i];
                    inert.Append("<U+").Append(codePoint.ToString("X4", CultureInfo.InvariantCulture)).Append('>');
                }
                else
                {
                    inert.Append(text, i, length);
                }
            }
            return inert.ToString();
        }

        // Whether the character at index is unsafe to show; length: how many UTF-16 units it takes
        // (2 for a surrogate pair, else 1).
        private static bool IsUnsafe(string text, int index, bool keepLineFeeds, out int length)
        {
            char c = text[index];
            length = 1;
            if (c <= '\u001F') return !(keepLineFeeds && c == '\n');
            if (c < '\u007F') return false;
            if (c <= '\u009F') return true;
            if (char.IsSurrogate(c))
            {
                if (!char.IsHighSurrogate(c) || index + 1 >= text.Length || !char.IsLowSurrogate(text[index + 1])) return true;
                length = 2;
                return IsHidden(char.ConvertToUtf32(c, text[index + 1]));
            }
            return IsHidden(c);
        }

        private static bool IsHidden(int codePoint) =>
            codePoint == 0x2028 || codePoint == 0x2029
            || codePoint == 0x2800 || codePoint == 0x3164 || codePoint == 0xFFA0
            || (codePoint != 0x200C && codePoint != 0x200D
                && CharUnicodeInfo.GetUnicodeCategory(codePoint) == UnicodeCategory.Format);
    }
}
