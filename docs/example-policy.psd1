# An example policy for Test-PimPolicy and Invoke-PimPolicy (docs/policy.md explains every key).
# Rules are tried in order; the first whose conditions all hold decides. A request no rule
# matches is left to a person (Skip), and so is a request of the approver themself.
@{
    Rules = @(
        # The issue's three rules.
        @{ Name = 'no-global-admin'; Role = 'Global Administrator'; Action = 'Deny'
           Justification = 'Global Administrator needs a person: see the runbook' }

        # Guests are always looked at by a person, before any rule below can approve them.
        @{ Name = 'guests-need-a-person'; Principal = '*#EXT#*'; Action = 'Skip' }

        @{ Name = 'finance-members'; Surface = 'Group'; Role = 'Member'; Scope = 'Finance*'
           MaxDuration = 'PT4H'; Action = 'Approve'; Justification = 'Approved by policy {Rule}' }

        @{ Name = 'ticketed-helpdesk'; Surface = 'DirectoryRole'; Role = 'Helpdesk Administrator'
           TicketRequired = $true; TicketSystem = '^ServiceNow$'; Action = 'Approve'
           Justification = 'Ticket {TicketNumber} checked by policy {Rule}' }

        # Readers on the development subscription (and everything under it), in Berlin office
        # hours, for at most a working day, asked for within the last two hours.
        @{ Name = 'dev-readers-office-hours'; Surface = 'AzureResource'
           Role = 'Reader', 'Monitoring Reader'
           Scope = '/subscriptions/11111111-2222-3333-4444-555555555555'
           Window = @{ Days = 'Mon-Fri'; Hours = '08:00-18:00'; TimeZone = 'Europe/Berlin' }
           MaxDuration = 'PT8H'; RequestedWithin = 'PT2H'
           RequestJustification = '\b(INC|CHG)\d{4,}\b'
           Action = 'Approve'; Justification = 'Approved by policy {Rule} for {Principal} on {Scope}' }

        # What nobody approved within 20 hours is denied, so the requester hears back.
        @{ Name = 'stale'; OlderThan = 'PT20H'; Action = 'Deny'
           Justification = 'Not approved within 20 hours (policy {Rule}); please ask again if still needed' }
    )
}
