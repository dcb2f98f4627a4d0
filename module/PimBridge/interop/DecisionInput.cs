// What Approve-PimRequest and Deny-PimRequest read of each piece of pipeline input, in one call:
// ConvertTo-PimDecisionTarget runs once per piped request, and reading a dozen properties through
// PowerShell function calls cost more than everything else it does.

using System.Collections;
using System.Management.Automation;

namespace PimBridge.Interop
{
    /// <summary>Pipeline input of the deciding commands, read without PowerShell's per-call cost.</summary>
    public static class DecisionInput
    {
        // The properties a request may carry that the prompt, the send and the decision log use.
        private static readonly string[] Names =
        {
            "ApprovalId", "Surface", "Principal", "PrincipalUpn", "PrincipalId", "Role", "Scope", "Duration", "EndsAt",
            "RequestId", "Justification", "Ticket",
        };

        // A Graph SDK request object carries one of these: the ids of the role or group, not their names.
        private static readonly string[] SdkNames = { "RoleDefinitionId", "AccessId", "GroupId" };

        /// <summary>
        /// The fields the input has (an object's properties, or a dictionary's keys, as PowerShell
        /// reads them), by name; a field it does not have is not in the table, one it has as null is.
        /// </summary>
        public static Hashtable ReadFields(object input)
        {
            var fields = new Hashtable(System.StringComparer.OrdinalIgnoreCase);
            if (input == null) return fields;
            if (Bare(input) is IDictionary dictionary)
            {
                foreach (string name in Names)
                {
                    if (dictionary.Contains(name)) fields[name] = dictionary[name];
                }
                return fields;
            }
            PSMemberInfoCollection<PSPropertyInfo> properties = PSObject.AsPSObject(input).Properties;
            foreach (string name in Names)
            {
                PSPropertyInfo property = properties[name];
                if (property != null) fields[name] = property.Value;
            }
            return fields;
        }

        /// <summary>One field of the input (as <see cref="ReadFields"/> reads it), or null when it has none.</summary>
        public static object ReadField(object input, string name)
        {
            if (input == null) return null;
            if (Bare(input) is IDictionary dictionary) return dictionary.Contains(name) ? dictionary[name] : null;
            return PSObject.AsPSObject(input).Properties[name]?.Value;
        }

        /// <summary>Whether the input is a request object of the Microsoft Graph PowerShell SDK (never a dictionary).</summary>
        public static bool IsSdkRequest(object input)
        {
            if (input == null || Bare(input) is IDictionary) return false;
            PSMemberInfoCollection<PSPropertyInfo> properties = PSObject.AsPSObject(input).Properties;
            foreach (string name in SdkNames)
            {
                if (properties[name] != null) return true;
            }
            return false;
        }

        internal static object Bare(object value) => value is PSObject wrapped ? wrapped.BaseObject : value;
    }
}
