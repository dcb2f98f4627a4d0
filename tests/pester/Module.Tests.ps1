# The module as shipped: manifest, exports, help, parameters, and the interop layer's contract.

BeforeDiscovery {
    # Every exported command is held to the help rules, whichever commands the module grows.
    $script:Exported = (Import-PowerShellDataFile (Join-Path $PSScriptRoot '../../module/PimBridge/PimBridge.psd1')).FunctionsToExport
}

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    Import-Module $ModulePath -Force
    $script:Manifest = Import-PowerShellDataFile (Join-Path $ModulePath 'PimBridge.psd1')
    $script:Commands = Get-Command -Module PimBridge
}

Describe 'The manifest' {
    It 'exports exactly the commands in Public/' {
        $public = (Get-ChildItem (Join-Path $RepoRoot 'module/PimBridge/Public') -Filter *.ps1).BaseName | Sort-Object
        @($Manifest.FunctionsToExport | Sort-Object) | Should -Be $public
        @($Commands.Name | Sort-Object) | Should -Be $public
    }

    It 'exports nothing by wildcard' {
        $Manifest.CmdletsToExport | Should -BeNullOrEmpty
        $Manifest.AliasesToExport | Should -BeNullOrEmpty
        $Manifest.VariablesToExport | Should -BeNullOrEmpty
        $Manifest.FunctionsToExport | Should -Not -Contain '*'
    }

    It 'carries the version of Cargo.toml' {
        $cargo = (Select-String -Path (Join-Path $RepoRoot 'Cargo.toml') -Pattern '^version\s*=\s*"([^"]+)"').Matches[0].Groups[1].Value
        $Manifest.ModuleVersion | Should -Be $cargo
        (Get-Module PimBridge).Version.ToString() | Should -Be $cargo
        [PimBridge.Interop.PimNative]::Version | Should -Be $cargo
    }

    It 'targets PowerShell 7.4 Core, with tags and release notes' {
        $Manifest.PowerShellVersion | Should -Be '7.4'
        $Manifest.CompatiblePSEditions | Should -Be @('Core')
        $Manifest.PrivateData.PSData.Tags | Should -Contain 'PIM'
        $Manifest.PrivateData.PSData.ReleaseNotes | Should -Not -BeNullOrEmpty
    }

    It 'ships the native library for this platform where the interop layer looks' {
        [PimBridge.Interop.NativeLibraryLocator]::ExpectedPath | Should -Exist
        [PimBridge.Interop.NativeLibraryLocator]::ExpectedPath | Should -BeLike "*runtimes*native*"
    }
}

Describe 'Help' {
    It 'has an about_PimBridge topic' {
        Join-Path $ModulePath 'en-US/about_PimBridge.help.txt' | Should -Exist
        Join-Path $ModulePath 'emulator' | Should -Exist -Because 'pim-emulator ships with the module, as about_PimBridge says'
        (Get-Help about_PimBridge | Out-String) | Should -Match 'Connect-MgGraph'
    }

    It '<_> has a synopsis, a description and examples' -ForEach $Exported {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        ($help.Description | Out-String) | Should -Not -BeNullOrEmpty
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
    }

    It '<_> documents every parameter' -ForEach $Exported {
        $help = Get-Help $_ -Full
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        foreach ($name in (Get-Command $_).Parameters.Keys | Where-Object { $_ -notin $common }) {
            $doc = $help.Parameters.Parameter | Where-Object Name -eq $name
            ($doc.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty -Because "$name needs help"
        }
    }

    It '<_> shows a pipeline example and a -Confirm:$false example' -ForEach @('Approve-PimRequest', 'Deny-PimRequest') {
        $code = (Get-Help $_ -Full).Examples.Example.Code -join "`n"
        $code | Should -Match 'Get-PimPending \|'
        $code | Should -Match '-Confirm:\$false'
    }
}

Describe 'Parameters' {
    It 'Get-PimPending takes <_>' -ForEach @('Surface', 'Role', 'Principal', 'AccessToken', 'ArmAccessToken', 'GraphUri', 'ArmUri', 'ArmScope', 'PageSize', 'IncludeStage') {
        (Get-Command Get-PimPending).Parameters.Keys | Should -Contain $_
    }

    It 'Get-PimPending has exactly its documented parameters' {
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters
        @((Get-Command Get-PimPending).Parameters.Keys | Where-Object { $_ -notin $common } | Sort-Object) |
            Should -Be @('AccessToken', 'ArmAccessToken', 'ArmScope', 'ArmUri', 'First', 'GraphUri', 'IncludeStage', 'IncludeTotalCount', 'PageSize', 'Principal', 'Role', 'Skip', 'Surface')
    }

    It '<_> has exactly its documented parameters' -ForEach @('Approve-PimRequest', 'Deny-PimRequest') {
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        @((Get-Command $_).Parameters.Keys | Where-Object { $_ -notin $common } | Sort-Object) |
            Should -Be @('AccessToken', 'ApprovalId', 'ArmAccessToken', 'ArmUri', 'GraphUri', 'InputObject', 'Justification', 'LogPath', 'Surface')
    }

    It '<Name> has exactly its documented parameters' -ForEach @(
        @{ Name = 'Test-PimPolicy'; Expected = @('AccessToken', 'ArmAccessToken', 'ArmUri', 'Force', 'GraphUri', 'InputObject', 'Path', 'Surface') }
        @{ Name = 'Invoke-PimPolicy'; Expected = @('AccessToken', 'ArmAccessToken', 'ArmUri', 'Force', 'GraphUri', 'InputObject', 'LogPath', 'Path', 'Surface') }
        @{ Name = 'Get-PimDecisionLog'; Expected = @('After', 'ApprovalId', 'Before', 'Path', 'Raw', 'Result', 'Rule') }
        @{ Name = 'Test-PimDecisionLog'; Expected = @('Path') }
        @{ Name = 'Watch-PimPending'; Expected = @('AccessToken', 'ArmAccessToken', 'ArmUri', 'GraphUri', 'Interval', 'Principal', 'Role', 'Surface') }
    ) {
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        @((Get-Command $Name).Parameters.Keys | Where-Object { $_ -notin $common } | Sort-Object) | Should -Be $Expected
    }

    It 'Invoke-PimPolicy confirms with high impact, takes requests from the pipeline, and shows a pipeline and a -Confirm:$false example' {
        $command = Get-Command Invoke-PimPolicy
        $binding = $command.ScriptBlock.Attributes | Where-Object { $_ -is [System.Management.Automation.CmdletBindingAttribute] }
        $binding.SupportsShouldProcess | Should -BeTrue
        $binding.ConfirmImpact | Should -Be 'High'
        ($command.Parameters['InputObject'].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }).ValueFromPipeline | Should -BeTrue
        $code = (Get-Help Invoke-PimPolicy -Full).Examples.Example.Code -join "`n"
        $code | Should -Match 'Get-PimPending .*\| Invoke-PimPolicy'
        $code | Should -Match '-Confirm:\$false'
    }

    It 'Watch-PimPending shows how to post to a Teams incoming webhook' {
        $code = (Get-Help Watch-PimPending -Full).Examples.Example.Code -join "`n"
        $code | Should -Match 'Invoke-RestMethod'
        $code | Should -Match 'webhook'
    }

    It '<_> takes -Surface, one of the surfaces' -ForEach @('Approve-PimRequest', 'Deny-PimRequest') {
        $set = (Get-Command $_).Parameters['Surface'].Attributes | Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] }
        $set.ValidValues | Should -Be @('DirectoryRole', 'Group', 'AzureResource')
    }

    It '<_> confirms with high impact and binds ApprovalId by property name' -ForEach @('Approve-PimRequest', 'Deny-PimRequest') {
        $command = Get-Command $_
        $binding = $command.ScriptBlock.Attributes | Where-Object { $_ -is [System.Management.Automation.CmdletBindingAttribute] }
        $binding.SupportsShouldProcess | Should -BeTrue
        $binding.ConfirmImpact | Should -Be 'High'
        $id = $command.Parameters['ApprovalId'].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }
        $id.ValueFromPipelineByPropertyName | Should -BeTrue
        $input = $command.Parameters['InputObject'].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }
        $input.ValueFromPipeline | Should -BeTrue
        ($command.Parameters['Justification'].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }).Mandatory | Should -BeTrue
        $command.Parameters['AccessToken'].ParameterType | Should -Be ([securestring])
        $command.Parameters['ArmAccessToken'].ParameterType | Should -Be ([securestring])
    }
}

Describe 'The interop layer' {
    BeforeAll {
        $script:Header = Get-Content -Raw (Join-Path $RepoRoot 'include/pim_bridge.h')
        $source = Get-Content -Raw (Join-Path $RepoRoot 'module/PimBridge/interop/PimBridge.Interop.cs')
        # C type -> the C# parameter type that marshals it.
        $script:TypeMap = @{
            'const char *'        = 'string|IntPtr'
            'char *'              = 'IntPtr'
            'char **'             = 'out IntPtr'
            'pim_error **'        = 'out IntPtr'
            'pim_client **'       = 'out PimClientHandle'
            'pim_op **'           = 'out PimOpHandle'
            'const pim_client *'  = 'PimClientHandle'
            'const pim_op *'      = 'PimOpHandle'
            'pim_client *'        = 'IntPtr'
            'pim_op *'            = 'IntPtr'
            'pim_error *'         = 'IntPtr'
            'const pim_error *'   = 'IntPtr'
            'uint32_t'            = 'uint'
            'uint64_t *'          = 'out ulong'
            'bool'                = 'bool'
            'pim_policy **'       = 'out PimPolicyHandle'
            'const pim_policy *'  = 'PimPolicyHandle'
            'pim_policy *'        = 'IntPtr'
            'pim_log **'          = 'out PimLogHandle'
            'const pim_log *'     = 'PimLogHandle'
            'pim_log *'           = 'IntPtr'
        }
        $script:DllImports = [regex]::Matches($source, '\[DllImport\(').Count
        $script:Declared = [regex]::Matches($source, '(?m)\[DllImport\(Library\)\]\s*internal static extern (\w+) (pim_\w+)\((.*)\);\s*$') | ForEach-Object {
            $params = if ($_.Groups[3].Value.Trim()) {
                @($_.Groups[3].Value -split ',' | ForEach-Object {
                    $p = ($_ -replace '\[MarshalAs\([^)]*\)\]', '').Trim()
                    $name = ($p -split '\s+')[-1]
                    [pscustomobject]@{ Name = $name; Type = ($p.Substring(0, $p.Length - $name.Length)).Trim() }
                })
            } else { @() }
            [pscustomobject]@{ Name = $_.Groups[2].Value; Return = $_.Groups[1].Value; Parameters = $params }
        }
    }

    It 'declares native functions, all of which this test reads' {
        @($Declared).Count | Should -BeGreaterOrEqual 20
        @($Declared).Count | Should -Be $DllImports
    }

    It 'declares each function as the header does' {
        foreach ($fn in $Declared) {
            $match = [regex]::Match($Header, "(?m)^([\w ]+?\*?)\s*\b$($fn.Name)\(([^)]*)\);")
            $match.Success | Should -BeTrue -Because "$($fn.Name) must be in include/pim_bridge.h"
            $cParams = @(($match.Groups[2].Value -replace '\s+', ' ').Trim() -split ',' | ForEach-Object { $_.Trim() } | Where-Object { $_ -and $_ -ne 'void' })
            $cParams.Count | Should -Be $fn.Parameters.Count -Because "$($fn.Name) takes $($cParams.Count) parameters"
            for ($i = 0; $i -lt $cParams.Count; $i++) {
                $cName = ($cParams[$i] -split '[\s*]+')[-1]
                $cType = $cParams[$i].Substring(0, $cParams[$i].Length - $cName.Length).Trim() -replace '\s*\*', ' *' -replace '\* \*', '**'
                $fn.Parameters[$i].Name | Should -Be $cName -Because "parameter $i of $($fn.Name)"
                $fn.Parameters[$i].Type | Should -Match "^($($TypeMap[$cType]))$" -Because "$($fn.Name)($cName) is '$cType' in C"
            }
        }
    }

    It 'knows every result code of the header, with the same number' {
        $codes = [regex]::Matches($Header, 'PIM_RESULT_(\w+) = (\d+)')
        $codes.Count | Should -BeGreaterThan 20
        foreach ($c in $codes) {
            $name = (Get-Culture).TextInfo.ToTitleCase($c.Groups[1].Value.ToLower()) -replace '_', ''
            [uint32][PimBridge.Interop.PimResult]::Parse([PimBridge.Interop.PimResult], $name, $true) | Should -Be ([uint32]$c.Groups[2].Value) -Because $c.Value
        }
        [enum]::GetValues([PimBridge.Interop.PimResult]).Count | Should -Be $codes.Count
    }

    It 'says what it looked for when the native library is missing' {
        $script = "`$env:PIMBRIDGE_NATIVE_LIB = '/nonexistent/libpim_bridge.so'; Import-Module '$ModulePath'; try { Get-PimPending -AccessToken (ConvertTo-SecureString 'a.b.c' -AsPlainText -Force) -GraphUri http://127.0.0.1:9 } catch { `$_.FullyQualifiedErrorId; `$_.Exception.Message }"
        $pwsh = (Get-Command pwsh -CommandType Application | Select-Object -First 1).Source
        $out = & $pwsh -NoProfile -NonInteractive -Command $script 2>&1
        $text = $out -join "`n"
        $text | Should -Match 'PimBridge.NativeLibraryNotFound'
        $text | Should -Match '/nonexistent/libpim_bridge.so'
        $text | Should -Match ([regex]::Escape([PimBridge.Interop.NativeLibraryLocator]::Rid))
        $text | Should -Match 'build.ps1'
    }
}
