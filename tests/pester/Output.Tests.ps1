# The objects the module outputs: PimBridge.PendingRequest and PimBridge.Decision, .NET classes of the
# interop assembly with the same properties, in the same order and of the same types as the
# PSCustomObjects they replaced; their views; and the reader that builds them from the library's JSON.

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    Import-Module $ModulePath -Force
    $script:Demo = Start-Emulator -Scenario demo
    $script:Common = @{ GraphUri = $Demo.Uri; AccessToken = (New-TestToken $Demo) }
    # Every Graph surface, so that Group and AccessType have values too.
    $script:Pending = @(Get-PimPending @Common -Surface DirectoryRole, Group)

    function Assert-PropertyTable($Objects, [System.Collections.Specialized.OrderedDictionary] $Expected, [type] $Type, [string[]] $Unset = @()) {
        # The names in order; each property's declared type (a Nullable's underlying type) and the
        # type of every value it holds as expected; and a value in each (but those named in -Unset,
        # which these objects leave empty), so that the types are seen.
        @($Objects[0].PSObject.Properties.Name) | Should -Be @($Expected.Keys)
        foreach ($name in $Expected.Keys) {
            $declared = $Type.GetProperty($name).PropertyType
            $declared = [Nullable]::GetUnderlyingType($declared) ?? $declared
            $declared.Name | Should -Be $Expected[$name] -Because "$name is declared as a $($Expected[$name])"
            $values = @($Objects | ForEach-Object { $_.$name } | Where-Object { $null -ne $_ })
            if ($name -in $Unset) { continue }
            $values.Count | Should -BeGreaterThan 0 -Because "some $($Type.Name) should have a $name"
            foreach ($value in $values) { $value.GetType().Name | Should -Be $Expected[$name] -Because "$name holds a $($Expected[$name])" }
        }
    }
}

AfterAll {
    Stop-Emulator $Demo
}

Describe 'PimBridge.PendingRequest' {
    It 'is the .NET type, under the type name the views select' {
        $Pending.Count | Should -Be 8
        foreach ($p in $Pending) {
            $p | Should -BeOfType ([PimBridge.PendingRequest])
            $p.PSObject.TypeNames[0] | Should -Be 'PimBridge.PendingRequest'
        }
    }

    It 'has the properties it always had, in order, of the same types, and then the new ones' {
        $expected = [ordered]@{
            ApprovalId = 'String'; RequestId = 'String'; Surface = 'String'; Principal = 'String'; PrincipalUpn = 'String'
            PrincipalId = 'String'; Role = 'String'; RoleId = 'String'; Scope = 'String'; ScopeId = 'String'
            Justification = 'String'; Ticket = 'String'; CreatedAt = 'DateTime'; StartsAt = 'DateTime'; Duration = 'TimeSpan'
            EndsAt = 'DateTime'; Action = 'String'; Status = 'String'; Group = 'String'; AccessType = 'String'
            TicketSystem = 'String'; TicketNumber = 'String'; ExpiresAt = 'DateTime'; Stage = 'String'
        }
        # No request of the demo starts later, so StartsAt is given one here, and Stage (read only with
        # -IncludeStage): the rest is as listed.
        $objects = @($Pending) + [PimBridge.PendingRequest]@{ ApprovalId = 'x'; StartsAt = [datetime]::Now; Stage = '1 of 1' }
        Assert-PropertyTable $objects $expected ([PimBridge.PendingRequest])
    }

    It 'holds its dates in local time' {
        foreach ($date in @($Pending.CreatedAt) + @($Pending.EndsAt | Where-Object { $_ })) {
            $date.Kind | Should -Be 'Local'
        }
    }

    It 'keeps its type and properties through Select-Object and Format-List *' {
        $listed = $Pending[0] | Format-List * | Out-String
        foreach ($name in 'ApprovalId', 'Principal', 'Duration', 'AccessType') { $listed | Should -Match "(?m)^$name\s+:" }
        @(($Pending[0] | Select-Object *).PSObject.Properties.Name).Count | Should -Be 24
    }

    It 'keeps the ticket''s system and number apart, and expires 24 hours after it was made' {
        $adele = $Pending | Where-Object Principal -eq 'Adele Vance'
        $adele.Ticket | Should -Be 'ServiceNow INC0012345'
        $adele.TicketSystem | Should -Be 'ServiceNow'
        $adele.TicketNumber | Should -Be 'INC0012345'
        $adele.ExpiresAt | Should -Be $adele.CreatedAt.AddHours(24)
        $adele.ExpiresAt.Kind | Should -Be 'Local'
    }
}

Describe 'PimBridge.Decision' {
    BeforeAll {
        $script:Approved = $Pending | Where-Object Principal -eq 'Alex Wilber' | Where-Object Surface -eq 'DirectoryRole' |
            Approve-PimRequest -Justification 'typed' -Confirm:$false @Common
        $script:Failed = $Pending | Where-Object Principal -eq 'Alex Wilber' | Where-Object Surface -eq 'DirectoryRole' |
            Approve-PimRequest -Justification 'again' -Confirm:$false -ErrorAction SilentlyContinue @Common
    }

    It 'is the .NET type, under the type name the views select' {
        foreach ($d in $Approved, $Failed) {
            $d | Should -BeOfType ([PimBridge.Decision])
            $d.PSObject.TypeNames[0] | Should -Be 'PimBridge.Decision'
        }
    }

    It 'has the properties it always had, in order, of the same types, and then the new ones' {
        $expected = [ordered]@{
            ApprovalId = 'String'; Principal = 'String'; Role = 'String'; Surface = 'String'; Result = 'String'
            DecidedAt = 'DateTime'; Error = 'String'; Scope = 'String'; ErrorId = 'String'; RequestId = 'String'
            Rule = 'String'
        }
        # Rule is a policy's (Policy.Tests.ps1 and Watch.Tests.ps1 see it filled); Approve-PimRequest leaves it empty.
        Assert-PropertyTable @($Approved, $Failed) $expected ([PimBridge.Decision]) -Unset Rule
        $Approved.Rule | Should -BeNullOrEmpty -Because 'no policy rule decided it'
        $Approved.Error | Should -BeNullOrEmpty
        $Failed.Result | Should -Be 'Failed'
        $Failed.Principal | Should -Be 'Alex Wilber' -Because 'it is named as the request piped in'
        $Approved.Scope | Should -Be 'Directory'
        $Approved.RequestId | Should -Not -BeNullOrEmpty
        $Approved.ErrorId | Should -BeNullOrEmpty
        $Failed.ErrorId | Should -Be 'PimBridge.AlreadyDecided'
    }
}

Describe 'The views' {
    It 'show a listing as one table with a Surface column (Views.Tests.ps1 captures it at 80 and 200 columns)' {
        $table = $Pending | Out-String -Width 250
        $table | Should -Not -Match 'Surface: '
        ([regex]::Matches($table, '(?m)^Surface\s+Principal\s+Role\s+For\s+Justification\s+Requested\s+Expires\s+Ticket\s+Scope\s*$')).Count | Should -Be 1
        $table | Should -Match 'Group\s+Alex Wilber\s+Member\s+4h\s'
    }

    It 'show a listing as a list with every property' {
        $list = $Pending[0] | Format-List | Out-String -Width 250
        foreach ($name in $Pending[0].PSObject.Properties.Name) { $list | Should -Match "(?m)^$name\s+:" }
    }

    It 'show decisions as a table with the columns they always had' {
        $table = @($Approved, $Failed) | Out-String -Width 250
        $table | Should -Match '(?m)^Result\s+Principal\s+Role\s+At\s+Error\s+Surface\s+Scope\s+ErrorId\s+ApprovalId\s*$'
        $table | Should -Match 'Approved\s+Alex Wilber\s+Exchange Administrator\s+\d\d:\d\d:\d\d\s+Entra\s+Directory'
    }
}

Describe 'Reading the library''s results' {
    It 'reads a request, skipping what it does not know and falling back to ids for missing names' {
        $json = '[{"approvalId":"a1","requestId":"r1","surface":"DirectoryRole","principalId":"p1","principalName":"","principalUpn":null,' +
            '"roleId":"role1","scopeId":"/","ticketSystem":"Jira","ticketNumber":null,"createdAt":"2025-03-30T01:30:00Z","durationSeconds":5400.0,' +
            '"duration":"PT1H30M","unknown":{"nested":[1,2,{"x":null}]},"\u0073tatus":"PendingApproval","error":null}]'
        $items = [PimBridge.Interop.ResultReader]::ReadPendingRequests($json)
        $items | Should -HaveCount 1
        $r = $items[0]
        $r | Should -BeOfType ([PimBridge.PendingRequest])
        $r.Principal | Should -Be 'p1' -Because 'an empty name and no UPN fall back to the id'
        $r.Role | Should -Be 'role1'
        $r.Scope | Should -Be '/'
        $r.Ticket | Should -Be 'Jira'
        $r.TicketSystem | Should -Be 'Jira'
        $r.TicketNumber | Should -BeNullOrEmpty
        $r.ExpiresAt | Should -Be $r.CreatedAt.AddHours(24) -Because 'approvers have 24 hours from creation'
        $r.Status | Should -Be 'PendingApproval' -Because 'an escaped property name is still read'
        $r.Duration | Should -Be ([timespan]::FromMinutes(90))
        $r.CreatedAt | Should -Be ([datetime]::new(2025, 3, 30, 1, 30, 0, [System.DateTimeKind]::Utc).ToLocalTime())
        $r.Justification | Should -BeNullOrEmpty
        $r.StartsAt | Should -BeNullOrEmpty
    }

    It 'gives a request the library could not read as an exception naming it' {
        $json = '[{"surface":"Group","approvalId":"bad-1","requestId":null,"error":{"kind":"InvalidResponse","code":7211,"httpStatus":0,' +
            '"serviceCode":null,"message":"its createdAt is a number","requestId":null}},{"approvalId":"ok","surface":"Group","error":null}]'
        $items = [PimBridge.Interop.ResultReader]::ReadPendingRequests($json)
        $items | Should -HaveCount 2
        $items[0] | Should -BeOfType ([PimBridge.Interop.PimNativeException])
        $items[0].Code | Should -Be 'InvalidResponse'
        $items[0].Message | Should -Be "The Group request 'bad-1' could not be read: its createdAt is a number"
        $items[1].ApprovalId | Should -Be 'ok'
    }

    It 'gives a request whose dates or duration do not convert as an exception naming each' {
        $json = '[{"surface":"DirectoryRole","approvalId":"d1","createdAt":"yesterday","endsAt":"2025-13-45T00:00:00Z",' +
            '"duration":"P99999999999D","durationSeconds":8.64e15}]'
        $item = @([PimBridge.Interop.ResultReader]::ReadPendingRequests($json))[0]
        $item | Should -BeOfType ([PimBridge.Interop.PimNativeException])
        $item.Code | Should -Be 'InvalidResponse'
        $item.Message | Should -Match "^The DirectoryRole request 'd1' could not be read: "
        $item.Message | Should -Match "its createdAt 'yesterday' is not a date"
        $item.Message | Should -Match "its endsAt '2025-13-45T00:00:00Z' is not a date"
        $item.Message | Should -Match "its duration 'P99999999999D' is longer than this module can hold"
    }

    It 'reads decision results, with their errors as exceptions' {
        $json = '[{"index":1,"approvalId":"a2","surface":"DirectoryRole","result":"Failed","stepId":null,"decidedAt":null,' +
            '"error":{"kind":"AlreadyDecided","code":7203,"httpStatus":409,"serviceCode":"Conflict","message":"decided already","requestId":"req-1"}},' +
            '{"index":0,"approvalId":"a1","surface":"Group","result":"Approved","decidedAt":"not a time","error":null}]'
        $results = [PimBridge.Interop.ResultReader]::ReadDecisionResults($json)
        $results | Should -HaveCount 2
        $results[0].Index | Should -Be 1
        $results[0].ErrorKind | Should -Be 'AlreadyDecided'
        $results[0].Error.Code | Should -Be 'AlreadyDecided'
        $results[0].Error.HttpStatus | Should -Be 409
        $results[0].Error.RequestId | Should -Be 'req-1'
        $results[0].Decision.Error | Should -Be 'decided already'
        $results[0].Decision.Result | Should -Be 'Failed'
        $results[1].Error | Should -BeNullOrEmpty
        $results[1].Decision.DecidedAt | Should -BeNullOrEmpty -Because 'a time that cannot be read is left out, and the decision still reported'
        $results[1].Decision.Surface | Should -Be 'Group'
    }

    It 'refuses what is not a JSON array of results' {
        { [PimBridge.Interop.ResultReader]::ReadPendingRequests('{"approvalId":"x"}') } | Should -Throw '*not a JSON array*'
        { [PimBridge.Interop.ResultReader]::ReadPendingRequests('[{"approvalId":') } | Should -Throw '*could not be read*'
    }
}

Describe 'Inert text, in one place' {
    It 'writes out what could steer a terminal, in C# and through Format-PimInertText alike' {
        $e = [char]0x1B
        $text = "a$e[2J$([char]0x9B)b$([char]0x202E)c`r`nd`te"
        $expected = 'a<U+001B>[2J<U+009B>b<U+202E>c<U+000D><U+000A>d<U+0009>e'
        [PimBridge.Interop.InertText]::Sanitize($text, $false) | Should -BeExactly $expected
        & (Get-Module PimBridge) { param($t) Format-PimInertText $t } $text | Should -BeExactly $expected
        [PimBridge.Interop.InertText]::Sanitize($text, $true) | Should -BeExactly "a<U+001B>[2J<U+009B>b<U+202E>c`nd<U+0009>e"
        $plain = 'Adele Vance'
        [object]::ReferenceEquals([PimBridge.Interop.InertText]::Sanitize($plain, $false), $plain) | Should -BeTrue -Because 'safe text is not copied'
    }

    It 'writes out what could hide text: zero-width and format characters, tags, fillers, half a surrogate pair' {
        $hidden = "zw$([char]0x200B)sp$([char]0xFEFF)bom$([char]0xFFF9)ann$([char]0x00AD)shy" +
            "tag$([char]::ConvertFromUtf32(0xE0041))$([char]0x3164)fill$([char]0xD800)half$([char]0x2029)para"
        [PimBridge.Interop.InertText]::Sanitize($hidden, $false) |
            Should -BeExactly 'zw<U+200B>sp<U+FEFF>bom<U+FFF9>ann<U+00AD>shytag<U+E0041><U+3164>fill<U+D800>half<U+2029>para'
        # What people write stays as it is: an emoji joined by U+200D, a Persian word with U+200C,
        # accents, CJK, and an emoji with its variation selector.
        foreach ($kept in "$([char]::ConvertFromUtf32(0x1F469))$([char]0x200D)$([char]::ConvertFromUtf32(0x1F4BB))", "می$([char]0x200C)خواهم", 'Zoë Ærø', '王小明', "$([char]0x2764)$([char]0xFE0F)") {
            [object]::ReferenceEquals([PimBridge.Interop.InertText]::Sanitize($kept, $false), $kept) | Should -BeTrue -Because "'$kept' is what a person wrote"
        }
    }

    It 'leaves dates, durations and $null for the view, and writes other values as PowerShell does' {
        $now = [datetime]::Now
        $Pending[0].ToInertText($now) | Should -Be $now
        $Pending[0].ToInertText([timespan]::FromHours(1)) | Should -Be ([timespan]::FromHours(1))
        $Pending[0].ToInertText($null) | Should -BeNullOrEmpty
        $Pending[0].ToInertText(@('a', "b$([char]7)")) | Should -BeExactly 'a b<U+0007>'
    }

    It 'makes the objects'' own text inert, as PowerShell wrote their properties' {
        $r = [PimBridge.PendingRequest]@{ ApprovalId = "x$([char]0x1B)]0;t$([char]7)"; Duration = [timespan]::FromHours(2) }
        "$r" | Should -BeLike '@{ApprovalId=x<U+001B>]0;t<U+0007>; RequestId=; *; Duration=02:00:00; *}'
        $r.ApprovalId | Should -BeExactly "x$([char]0x1B)]0;t$([char]7)" -Because 'the object keeps the original text'
    }
}
