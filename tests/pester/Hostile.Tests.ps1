# Text from the service that tries to steer the approver's console. The emulator serves a seed file
# (--seed-file) whose names, justifications and tickets hold escape sequences and control
# characters, on every surface; the module must show all of it inert (views, -WhatIf and -Confirm
# texts, errors, verbose) and keep the original text on its objects.

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    Import-Module $ModulePath -Force

    $e = [char]0x1B
    # One hostile string per way to steer a terminal or reorder what is shown.
    $script:Corpus = [ordered]@{
        csi       = "$e[1A$e[2K$e[1B ok"
        osc       = "$e]0;pwned$([char]7) title"
        dcs       = "${e}P+q544e$e\ dcs"
        c1csi     = "$([char]0x9B)1A$([char]0x9B)2K c1"
        override  = "Reader$([char]0x202E)rotartsinimdA"
        isolates  = "$([char]0x2066)a$([char]0x2067)b$([char]0x2068)c$([char]0x2069)d"
        backspace = "Global Administrator$([char]8)$([char]8)$([char]8)$([char]8)Reader"
        cr        = "Reader$([char]13)Global Administrator"
        nul       = "before$([char]0)after"
        loneEsc   = "lone$e"
        del       = "del$([char]0x7F)ete"
        # Text a person cannot see: a zero-width space and a byte-order mark inside a role's name,
        # and a message in tag characters (invisible, read by machines).
        invisible = "Reader$([char]0x200B)$([char]0xFEFF)"
        tags      = "ok$(-join ('hidden'.ToCharArray() | ForEach-Object { [char]::ConvertFromUtf32(0xE0000 + [int]$_) }))"
    }
    # What must never reach a console from the service: C0 controls (but the line feeds that end
    # the lines of a rendering), DEL, C1, bidirectional controls, line and paragraph separators.
    # ... and the invisible ones that hide text: zero-width and other format characters (but the
    # joiners), the byte-order mark, the tag characters (as UTF-16 surrogate pairs).
    $script:Unsafe = '[\x00-\x09\x0B-\x1F\x7F-\x9F\u00AD\u061C\u200B\u200E\u200F\u2028-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB]|\uDB40[\uDC00-\uDC7F]'

    function Assert-Inert([string] $Text, [string] $What) {
        $plain = $Text.Replace("`r`n", "`n")
        $found = [regex]::Matches($plain, $Unsafe)
        $shown = @($found | Select-Object -First 5 | ForEach-Object {
                $at = [math]::Max(0, $_.Index - 20)
                'U+{0:X4} in "{1}"' -f [char]::ConvertToUtf32($_.Value, 0), ($plain.Substring($at, [math]::Min(40, $plain.Length - $at)) -replace $Unsafe, '?')
            })
        $found.Count | Should -Be 0 -Because "$What must show no control character ($($shown -join '; '))"
    }

    function New-Guid12([string] $Prefix, [int] $N) { '{0}-0000-4000-8000-{1:x12}' -f $Prefix, $N }

    function New-HostileSeed {
        # One request per hostile string on each surface, the string in every name it shows.
        $sub = '11111111-2222-4333-8444-555555555555'
        $value = [System.Collections.Generic.List[object]]::new()
        $n = 0
        foreach ($text in $Corpus.Values) {
            $n++
            $ticket = @{ ticketSystem = $text; ticketNumber = $text }
            $value.Add(@{
                    id = New-Guid12 'd1000000' $n; principalId = New-Guid12 'a1000000' $n
                    roleDefinitionId = New-Guid12 'c1000000' $n; directoryScopeId = $text
                    justification = $text; ticketInfo = $ticket
                    principal = @{ displayName = $text; userPrincipalName = "$text@contoso.onmicrosoft.com" }
                    roleDefinition = @{ displayName = $text }
                })
            $value.Add(@{
                    id = New-Guid12 'd2000000' $n; principalId = New-Guid12 'a2000000' $n
                    groupId = New-Guid12 'b2000000' $n; accessId = 'member'
                    justification = $text; ticketInfo = $ticket
                    principal = @{ displayName = $text; userPrincipalName = "$text@contoso.onmicrosoft.com" }
                    group = @{ displayName = $text }
                })
            $value.Add(@{
                    name = New-Guid12 'd3000000' $n
                    properties = @{
                        scope = "/subscriptions/$sub/resourceGroups/rg$n"; principalId = New-Guid12 'a3000000' $n
                        roleDefinitionId = "/subscriptions/$sub/providers/Microsoft.Authorization/roleDefinitions/$(New-Guid12 'c3000000' $n)"
                        justification = $text; ticketInfo = $ticket
                        expandedProperties = @{
                            principal = @{ displayName = $text; email = "$text@contoso.onmicrosoft.com" }
                            roleDefinition = @{ displayName = $text; type = 'CustomRole' }
                            scope = @{ displayName = $text; type = 'resourcegroup' }
                        }
                    }
                })
        }
        $path = Join-Path ([IO.Path]::GetTempPath()) "pim-hostile-$PID.json"
        [IO.File]::WriteAllText($path, (@{ value = $value } | ConvertTo-Json -Depth 8), [Text.UTF8Encoding]::new($false))
        $path
    }

    $script:SeedPath = New-HostileSeed
    $script:Emu = Start-Emulator -Scenario empty -Extra @('--seed-file', $SeedPath)
    $script:Common = @{
        GraphUri = $Emu.Uri; ArmUri = $Emu.Uri
        AccessToken = (New-TestToken $Emu); ArmAccessToken = (New-TestToken $Emu @{ audience = 'arm' })
    }
    $script:Pending = @(Get-PimPending @Common)
    $script:Count = $Corpus.Count * 3
}

AfterAll {
    Stop-Emulator $Emu
    Remove-Item -Force -ErrorAction Ignore $SeedPath
}

Describe 'Text from the service, shown to the approver' {
    It 'lists every hostile request, each keeping the text the service sent' {
        $Pending | Should -HaveCount $Count
        $n = 0
        foreach ($text in $Corpus.Values) {
            $n++
            $dir = $Pending | Where-Object ApprovalId -eq (New-Guid12 'd1000000' $n)
            $dir.Principal | Should -BeExactly $text
            $dir.Role | Should -BeExactly $text
            $dir.Scope | Should -BeExactly $text
            $dir.Justification | Should -BeExactly $text
            $dir.Ticket | Should -BeExactly "$text $text".Trim()
            $group = $Pending | Where-Object { $_.Surface -eq 'Group' -and $_.ApprovalId -eq (New-Guid12 'd2000000' $n) }
            $group.Scope | Should -BeExactly $text
            $group.Group | Should -BeExactly $text
            $group.Principal | Should -BeExactly $text
            $arm = $Pending | Where-Object { $_.Surface -eq 'AzureResource' -and $_.ApprovalId -like "*$(New-Guid12 'd3000000' $n)" }
            $arm.Principal | Should -BeExactly $text
            $arm.Role | Should -BeExactly $text
            $arm.Scope | Should -BeExactly $text
            $arm.Justification | Should -BeExactly $text
        }
    }

    It 'shows the default table inert, at width <_>' -ForEach 200, 80 {
        $table = $Pending | Out-String -Width $_
        Assert-Inert $table "the table at width $_"
        $table | Should -Match ([regex]::Escape('<U+001B>')) -Because 'escapes are shown, not dropped'
    }

    It 'shows Format-List inert' {
        $list = $Pending | Format-List | Out-String -Width 200
        Assert-Inert $list 'Format-List'
        $list | Should -Match ([regex]::Escape('<U+202E>'))
    }

    It 'shows the -WhatIf text inert, and sends nothing' {
        $run = Invoke-CaptureHost -ArgumentList $Common -Script {
            param($Common)
            Get-PimPending @Common | Approve-PimRequest -Justification 'checked' -WhatIf @Common
        }
        $run.Errors | Should -BeNullOrEmpty
        ([regex]::Matches($run.Text, 'What if:')).Count | Should -Be $Count
        Assert-Inert $run.Text 'the -WhatIf text'
        Get-EmulatorDecision $Emu | Should -HaveCount 0
    }

    It 'shows the -Confirm prompt inert, and sends nothing when told no' {
        # Every prompt is answered "No" (choice 2).
        $run = Invoke-CaptureHost -Choice 2 -ArgumentList $Common -Script {
            param($Common)
            Get-PimPending @Common | Deny-PimRequest -Justification 'checked' -Confirm @Common
        }
        $run.Errors | Should -BeNullOrEmpty
        $run.Prompts | Should -HaveCount $Count
        foreach ($prompt in $run.Prompts) { Assert-Inert $prompt 'the -Confirm prompt' }
        $run.Prompts -join "`n" | Should -Match ([regex]::Escape('<U+009B>'))
        Get-EmulatorDecision $Emu | Should -HaveCount 0
    }

    It 'shows decisions inert, keeping the original names on the objects' {
        $verbose = $null
        $decisions = @($Pending | Approve-PimRequest -Justification 'checked' -Confirm:$false -Verbose -ErrorAction SilentlyContinue @Common 4>&1 |
                Tee-Object -Variable verbose | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
        $decisions | Should -HaveCount $Count
        # Directory roles are decided here; the group and Azure ones may fail for reasons of their
        # own (their text is still shown, in the Error column, and must be inert too).
        @($decisions | Where-Object { $_.Surface -eq 'DirectoryRole' -and $_.Result -eq 'Approved' }) | Should -HaveCount $Corpus.Count
        ($decisions | Where-Object ApprovalId -eq (New-Guid12 'd1000000' 1)).Principal | Should -BeExactly $Corpus['csi']
        Assert-Inert ($decisions | Out-String -Width 200) 'the decisions table'
        Assert-Inert ($decisions | Format-List | Out-String -Width 200) 'the decisions list'
        Assert-Inert (@($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n") 'verbose text'
    }

    It 'shows errors inert in every error view: messages, details, advice, targets' {
        # DetailedView shows the newest error of the session: each case is shown right after it happens.
        function Assert-ErrorViews($Records, [string] $What) {
            foreach ($view in 'ConciseView', 'NormalView', 'DetailedView') {
                $ErrorView = $view
                Assert-Inert ($Records | Out-String -Width 200) "$What in $view"
            }
            Assert-Inert ($Records | Format-List * -Force | Out-String -Width 200) "$What with Format-List * -Force"
            Assert-Inert (Get-Error -InputObject $Records[0] | Out-String -Width 200) "$What in Get-Error"
            foreach ($err in $Records) {
                Assert-Inert ($err.Exception.Message, $err.ErrorDetails.Message, $err.ErrorDetails.RecommendedAction, $err.CategoryInfo.ToString() -join "`n") "$What's texts"
            }
        }
        # Each request again: an error per request (already decided, mostly), its target the hostile request.
        $out = @($Pending | Approve-PimRequest -Justification 'again' -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable errs @Common)
        $out | Should -HaveCount $Count
        $errs.Count | Should -Be $Count
        @($errs | Where-Object FullyQualifiedErrorId -eq 'PimBridge.AlreadyDecided,Approve-PimRequest').Count | Should -BeGreaterOrEqual $Corpus.Count
        Assert-ErrorViews $errs 'errors for the service''s requests'
        # An id holding escapes.
        Approve-PimRequest -ApprovalId "$([char]0x1B)]0;x$([char]7)" -Justification 'x' -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable byId @Common
        $byId | Should -HaveCount 1
        Assert-ErrorViews $byId 'the error for an id'
        # A hand-made object whose names hold escapes (and that lacks Scope): its error's own texts are
        # inert; the object itself is the caller's, and DetailedView and Get-Error show it as built.
        [pscustomobject]@{ ApprovalId = "$([char]0x1B)[2J"; Principal = $Corpus['osc']; Role = $Corpus['cr'] } |
            Approve-PimRequest -Justification 'x' -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable handMade @Common
        $handMade | Should -HaveCount 1
        $handMade[0].FullyQualifiedErrorId | Should -Be 'PimBridge.InvalidInput,Approve-PimRequest'
        $handMade[0].TargetObject.Principal | Should -BeExactly $Corpus['osc'] -Because 'the target is the object as given'
        $handMade[0].ErrorDetails.Message | Should -Match ([regex]::Escape('<U+001B>[2J')) -Because 'the bad item is named'
        $ErrorView = 'ConciseView'
        Assert-Inert ($handMade | Out-String -Width 200) 'the error for a hand-made object'
        Assert-Inert ($handMade[0].Exception.Message, $handMade[0].ErrorDetails.Message, $handMade[0].CategoryInfo.ToString() -join "`n") 'the error for a hand-made object'
    }
}
