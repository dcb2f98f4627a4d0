// What the module outputs: PimBridge.PendingRequest (Get-PimPending) and PimBridge.Decision
// (Approve-PimRequest, Deny-PimRequest). Plain .NET classes, built by ResultReader straight from
// the native library's JSON; their type names are the views' names in PimBridge.Format.ps1xml.
// Every property keeps the service's text as it came; what a person is shown goes through
// ToInertText (the views call it per cell) or ToString (error views, "$request"), both inert.

using System;
using System.Globalization;
using System.Text;
using PimBridge.Interop;

namespace PimBridge
{
    /// <summary>A PIM request waiting on the signed-in approver, as Get-PimPending outputs it.</summary>
    public sealed class PendingRequest
    {
        public string ApprovalId { get; set; }
        public string RequestId { get; set; }
        public string Surface { get; set; }
        /// <summary>The principal's display name, else their user principal name, else their id.</summary>
        public string Principal { get; set; }
        public string PrincipalUpn { get; set; }
        public string PrincipalId { get; set; }
        /// <summary>The role's name, else its id.</summary>
        public string Role { get; set; }
        public string RoleId { get; set; }
        /// <summary>The scope's name, else its id.</summary>
        public string Scope { get; set; }
        public string ScopeId { get; set; }
        public string Justification { get; set; }
        /// <summary>The ticket system and number, e.g. "ServiceNow INC0012345".</summary>
        public string Ticket { get; set; }
        /// <summary>Local time.</summary>
        public DateTime? CreatedAt { get; set; }
        /// <summary>Local time.</summary>
        public DateTime? StartsAt { get; set; }
        public TimeSpan? Duration { get; set; }
        /// <summary>Local time.</summary>
        public DateTime? EndsAt { get; set; }
        public string Action { get; set; }
        public string Status { get; set; }
        /// <summary>Groups only: the group's name.</summary>
        public string Group { get; set; }
        /// <summary>Groups only: member or owner.</summary>
        public string AccessType { get; set; }
        /// <summary>The ticket system, e.g. "ServiceNow"; null when none was given.</summary>
        public string TicketSystem { get; set; }
        /// <summary>The ticket number, e.g. "INC0012345"; null when none was given.</summary>
        public string TicketNumber { get; set; }
        /// <summary>
        /// Local time: when the request expires if nobody answers it. PIM gives approvers 24 hours
        /// from the request's creation (docs/service-fidelity.md); the service reports no such time,
        /// so it is CreatedAt + 24 hours (null without CreatedAt).
        /// </summary>
        public DateTime? ExpiresAt { get; set; }
        /// <summary>
        /// Which approval stage waits on you, "N of M" (the stage a decision goes to, of all the
        /// approval's stages); read only with Get-PimPending -IncludeStage, null otherwise and when
        /// the approval could not be read.
        /// </summary>
        public string Stage { get; set; }

        /// <summary>A value as the views show it: text made inert, dates and durations as they are.</summary>
        public object ToInertText(object text) => InertText.Format(text, false);

        /// <summary>As <see cref="ToInertText(object)"/>; with <paramref name="multiline"/>, line feeds stay.</summary>
        public object ToInertText(object text, bool multiline) => InertText.Format(text, multiline);

        /// <summary>"@{ApprovalId=...; Principal=...; ...}", as PowerShell writes an object's properties, made inert.</summary>
        public override string ToString()
        {
            return new PropertyText()
                .Add("ApprovalId", ApprovalId).Add("RequestId", RequestId).Add("Surface", Surface)
                .Add("Principal", Principal).Add("PrincipalUpn", PrincipalUpn).Add("PrincipalId", PrincipalId)
                .Add("Role", Role).Add("RoleId", RoleId).Add("Scope", Scope).Add("ScopeId", ScopeId)
                .Add("Justification", Justification).Add("Ticket", Ticket)
                .Add("CreatedAt", CreatedAt).Add("StartsAt", StartsAt).Add("Duration", Duration).Add("EndsAt", EndsAt)
                .Add("Action", Action).Add("Status", Status).Add("Group", Group).Add("AccessType", AccessType)
                .Add("TicketSystem", TicketSystem).Add("TicketNumber", TicketNumber).Add("ExpiresAt", ExpiresAt)
                .Add("Stage", Stage)
                .ToInertString();
        }
    }

    /// <summary>The outcome of approving or denying one request, as Approve-PimRequest and Deny-PimRequest output it.</summary>
    public sealed class Decision
    {
        public string ApprovalId { get; set; }
        /// <summary>As the request piped in named them; null for an id given alone.</summary>
        public string Principal { get; set; }
        public string Role { get; set; }
        public string Surface { get; set; }
        /// <summary>Approved, Denied or Failed.</summary>
        public string Result { get; set; }
        /// <summary>Local time; null when the service's time cannot be read.</summary>
        public DateTime? DecidedAt { get; set; }
        /// <summary>Why it failed, as the library says it; null when it did not.</summary>
        public string Error { get; set; }
        /// <summary>As the request piped in named it; null for an id given alone that was not found listed.</summary>
        public string Scope { get; set; }
        /// <summary>The error record's ErrorId (e.g. PimBridge.AlreadyDecided); null when it did not fail.</summary>
        public string ErrorId { get; set; }
        /// <summary>The PIM request's id (PendingRequest.RequestId), as the request piped in named it; null when unknown.</summary>
        public string RequestId { get; set; }
        /// <summary>The policy rule that decided it (Invoke-PimPolicy); null for Approve-PimRequest and Deny-PimRequest.</summary>
        public string Rule { get; set; }

        public object ToInertText(object text) => InertText.Format(text, false);

        public object ToInertText(object text, bool multiline) => InertText.Format(text, multiline);

        public override string ToString()
        {
            return new PropertyText()
                .Add("ApprovalId", ApprovalId).Add("Principal", Principal).Add("Role", Role).Add("Surface", Surface)
                .Add("Result", Result).Add("DecidedAt", DecidedAt).Add("Error", Error)
                .Add("Scope", Scope).Add("ErrorId", ErrorId).Add("RequestId", RequestId).Add("Rule", Rule)
                .ToInertString();
        }
    }

    /// <summary>"@{Name=Value; ...}" with values written as PowerShell writes them in a string (invariant culture).</summary>
    internal sealed class PropertyText
    {
        private readonly StringBuilder text = new StringBuilder("@{");

        public PropertyText Add(string name, object value)
        {
            if (text.Length > 2) text.Append("; ");
            text.Append(name).Append('=').Append(Convert.ToString(value, CultureInfo.InvariantCulture));
            return this;
        }

        public string ToInertString() => InertText.Sanitize(text.Append('}').ToString(), false);
    }
}
