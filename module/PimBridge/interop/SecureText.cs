// A token read from a session (Connect-MgGraph's request header, an older Az.Accounts' plain text)
// into a SecureString, as ConvertTo-SecureString -AsPlainText does it, without that cmdlet: calling
// it loads Microsoft.PowerShell.Security, a cost of 100 ms and more on a session's first call.

using System;
using System.Security;

namespace PimBridge.Interop
{
    /// <summary>Text into a SecureString, character by character, as ConvertTo-SecureString -AsPlainText.</summary>
    public static class SecureText
    {
        /// <summary>The text as a SecureString; null or empty text gives an empty one.</summary>
        public static SecureString FromText(string text)
        {
            var secure = new SecureString();
            if (text != null)
            {
                foreach (char c in text) secure.AppendChar(c);
            }
            return secure;
        }
    }
}
