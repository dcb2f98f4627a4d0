// What Approve-PimRequest, Deny-PimRequest and Invoke-PimPolicy make of each piece of input: the
// target that is decided and the text its prompt shows. Once per piped request, so in one call:
// as a PowerShell function it cost about as much as everything else done per request.

using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;
using System.Text.RegularExpressions;

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
            var fields = new Hashtable(StringComparer.OrdinalIgnoreCase);
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

        /// <summary>
        /// Pipeline input (a PendingRequest, any object or dictionary with ApprovalId, or an id
        /// string) as what is decided and shown: an object with ApprovalId, Surface, TokenSurface,
        /// PrincipalId, Principal, Role, Scope, RequestId, InputObject and Description; null when
        /// there is no id to act on. Surface is the surface named (by <paramref name="surface"/>,
        /// the caller's -Surface, or the input's own Surface), null when none is: the library then
        /// finds it, and TokenSurface is where the id points, only to pick the token. For input that
        /// cannot be decided (an unknown surface, two surfaces, a Duration that is not one, some but
        /// not all of who, which role and where) a PimNativeException (InvalidInput) naming it is
        /// returned, not thrown, since -ErrorVariable keeps even a caught exception.
        /// </summary>
        public static object ToTarget(object input, string surface)
        {
            if (input == null) return null;
            object bare = Bare(input);
            Hashtable fields;
            object rawId;
            if (bare is string text)
            {
                rawId = text;
                fields = new Hashtable(StringComparer.OrdinalIgnoreCase);
            }
            else
            {
                fields = ReadFields(input);
                rawId = fields["ApprovalId"];
                if (!fields.ContainsKey("Role") && !fields.ContainsKey("Scope") && IsSdkRequest(input))
                {
                    // A Graph SDK request object (Get-MgRoleManagementDirectoryRoleAssignmentScheduleRequest,
                    // ...): its Principal is an object, not a name, so it is decided by its id, as an id alone.
                    fields.Remove("Principal");
                }
            }
            string id = Text(rawId);
            if (string.IsNullOrWhiteSpace(id)) return null;
            string named = Text(fields["Surface"]) ?? string.Empty;
            if (!string.IsNullOrEmpty(surface) && named.Length > 0 && !string.Equals(named, surface, StringComparison.OrdinalIgnoreCase))
            {
                return Refusal($"The request '{id}' names the surface '{named}', but -Surface says '{surface}'; nothing was sent for it.");
            }
            if (!string.IsNullOrEmpty(surface)) named = surface;
            string resolved = null;
            if (named.Length > 0)
            {
                // The surface named, in any case, as the library spells it; null for a name it does not know.
                resolved = PimNative.ResolveSurface(id, named);
                if (string.IsNullOrEmpty(resolved))
                {
                    var names = new List<string>();
                    foreach (SurfaceInfo info in PimJson.ReadSurfaces(PimNative.GetSurfaces())) names.Add(info.Name);
                    return Refusal($"The request '{id}' names the surface '{named}', which is none of {string.Join(", ", names)}; nothing was sent for it.");
                }
            }
            string description = resolved != null ? $"{resolved} PIM request {id}" : $"PIM request {id}";
            object principal = null;
            object role = null;
            var shown = new List<string>(3);
            var missing = new List<string>(3);
            foreach (string name in new[] { "Principal", "Role", "Scope" })
            {
                (fields.ContainsKey(name) ? shown : missing).Add(name);
            }
            if (missing.Count == 0)
            {
                // An object that says who, which role and where: the prompt names them all.
                principal = fields["Principal"];
                role = fields["Role"];
                string who = Text(principal);
                object upn = fields["PrincipalUpn"];
                if (LanguagePrimitives.IsTrue(upn) && !string.Equals(Text(upn), who, StringComparison.OrdinalIgnoreCase)) who = $"{who} ({Text(upn)})";
                string until;
                object duration = fields["Duration"];
                if (LanguagePrimitives.IsTrue(duration))
                {
                    // A listed request's Duration is a TimeSpan already; other input is converted as -as [timespan] does.
                    if (!(Bare(duration) is TimeSpan span) && !LanguagePrimitives.TryConvertTo(duration, out span))
                    {
                        return Refusal($"The request '{id}' has a Duration that is not a duration ('{Text(duration)}'); nothing was sent for it.");
                    }
                    until = "for " + DurationText(span);
                }
                else if (LanguagePrimitives.IsTrue(fields["EndsAt"]))
                {
                    until = "until " + Text(fields["EndsAt"]);
                }
                else
                {
                    until = "with no end given";
                }
                string scope = Text(fields["Scope"]);
                string where = string.IsNullOrEmpty(scope) ? "(no scope given)" : scope;
                // What the requester gave as reasons: the approver decides on them.
                string why = Whitespace.Replace(Text(fields["Justification"]) ?? string.Empty, " ").Trim();
                why = why.Length > 0 ? $"justification: \"{why}\"" : "no justification given";
                if (LanguagePrimitives.IsTrue(fields["Ticket"])) why += $"; ticket: {Text(fields["Ticket"])}";
                description = $"{who}: {Text(role)} at {where} {until} (approval {id}); {why}";
            }
            else if (shown.Count > 0)
            {
                // Some of who, which role and where, but not all: the prompt could not say what is decided.
                return Refusal(
                    $"The request '{id}' has {string.Join(" and ", shown)} but no {string.Join(" and ", missing)}, so the prompt cannot say what would be decided; nothing was sent for it. " +
                    "Pipe the objects Get-PimPending outputs, or give the ApprovalId alone (with -Surface for a group request).");
            }
            var target = new PSObject();
            PSMemberInfoCollection<PSPropertyInfo> properties = target.Properties;
            properties.Add(new PSNoteProperty("ApprovalId", id));
            properties.Add(new PSNoteProperty("Surface", resolved));
            // Where the id points, for the token only; the library decides where it is sent.
            properties.Add(new PSNoteProperty("TokenSurface", resolved ?? PimNative.ResolveSurface(id, null)));
            properties.Add(new PSNoteProperty("PrincipalId", Text(fields["PrincipalId"])));
            properties.Add(new PSNoteProperty("Principal", principal));
            properties.Add(new PSNoteProperty("Role", role));
            properties.Add(new PSNoteProperty("Scope", LanguagePrimitives.IsTrue(principal) ? fields["Scope"] : null));
            properties.Add(new PSNoteProperty("RequestId", Text(fields["RequestId"])));
            properties.Add(new PSNoteProperty("InputObject", input));
            // Shown in the prompt and -WhatIf: the service's text made inert.
            properties.Add(new PSNoteProperty("Description", InertText.Sanitize(description, false)));
            return target;
        }

        private static readonly Regex Whitespace = new Regex(@"\s+", RegexOptions.CultureInvariant);

        private static PimNativeException Refusal(string message) => new PimNativeException(PimResult.InvalidInput, message, 0, null, null);

        // A value as PowerShell's [string] makes it; null stays null.
        private static string Text(object value) => DecisionLogEvents.Text(value);

        /// <summary>A duration as the prompt says it: 2 hours 30 minutes, 1 day 4 hours, 45 seconds.</summary>
        public static string DurationText(TimeSpan span)
        {
            var parts = new List<string>(3);
            void Part(int count, string unit)
            {
                if (count > 0) parts.Add(count.ToString(CultureInfo.CurrentCulture) + " " + unit + (count == 1 ? string.Empty : "s"));
            }
            Part(span.Days, "day");
            Part(span.Hours, "hour");
            Part(span.Minutes, "minute");
            if (parts.Count > 0) return string.Join(" ", parts);
            // As PowerShell's [int] rounds: to the nearest, a half to even.
            int seconds = (int)Math.Round(span.TotalSeconds, MidpointRounding.ToEven);
            return seconds.ToString(CultureInfo.CurrentCulture) + " seconds";
        }

        internal static object Bare(object value) => value is PSObject wrapped ? wrapped.BaseObject : value;
    }
}
