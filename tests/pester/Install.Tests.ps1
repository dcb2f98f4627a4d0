# Installed as users install modules: the .nupkg that -Task Package makes, through Install-PSResource
# into a fresh user profile, imported by name in a new pwsh, deciding against the pim-emulator that
# ships inside the package.

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    Import-Module (Join-Path $RepoRoot 'tools/Package.psm1') -Force
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) "pimbridge-install-$PID"
    # A fresh profile; .NET names a profile folder only when it exists.
    foreach ($dir in 'home/.config', 'home/.local/share', 'home/AppData') { New-Item -ItemType Directory -Force -Path (Join-Path $Work $dir) | Out-Null }
    $script:Pwsh = (Get-Command pwsh -CommandType Application | Select-Object -First 1).Source
    $script:Package = New-PimBridgePackage -ModuleOut $ModulePath -Destination (Join-Path $Work 'repo') -Pwsh $Pwsh
    $script:Rid = Get-PimBridgeRid
}

AfterAll {
    Remove-Item -Recurse -Force -ErrorAction Ignore $Work
}

Describe 'The package' {
    It 'holds the module, the native library and pim-emulator for this platform' {
        Add-Type -AssemblyName System.IO.Compression.FileSystem
        $zip = [System.IO.Compression.ZipFile]::OpenRead($Package.FullName)
        try { $entries = @($zip.Entries.FullName) } finally { $zip.Dispose() }
        $library = if ($IsWindows) { 'pim_bridge.dll' } elseif ($IsMacOS) { 'libpim_bridge.dylib' } else { 'libpim_bridge.so' }
        foreach ($path in 'PimBridge.psd1', 'PimBridge.psm1', 'PimBridge.Interop.dll', 'PimBridge.Format.ps1xml',
            'en-US/about_PimBridge.help.txt', "runtimes/$Rid/native/$library", "emulator/$Rid/pim-emulator$(if ($IsWindows) { '.exe' })") {
            $entries | Should -Contain $path
        }
    }

    It 'gathers the platforms other runners built, as the release workflow does' {
        # Another runner's artifacts, as actions/download-artifact lays them out.
        $other = Join-Path $Work 'downloaded/pimbridge-linux-arm64'
        foreach ($kind in 'runtimes/linux-arm64/native', 'emulator/linux-arm64') { New-Item -ItemType Directory -Force -Path (Join-Path $other $kind) | Out-Null }
        Set-Content -Path (Join-Path $other 'runtimes/linux-arm64/native/libpim_bridge.so') -Value 'an arm64 build'
        Set-Content -Path (Join-Path $other 'emulator/linux-arm64/pim-emulator') -Value 'an arm64 build'
        $module = Join-Path $Work 'gathered/PimBridge'
        Copy-Item -Recurse -Path $ModulePath -Destination $module
        Add-PimBridgeRuntime -ModuleOut $module -From (Join-Path $Work 'downloaded')
        $report = Get-PimBridgeRuntimeReport -ModuleOut $module
        ($report | Where-Object Rid -eq 'linux-arm64').Native | Should -BeTrue
        ($report | Where-Object Rid -eq 'linux-arm64').Emulator | Should -BeTrue
        ($report | Where-Object Rid -eq $Rid).Native | Should -BeTrue
        @($report | Where-Object { $_.Rid -like 'win-*' -and $_.Native }) | Should -HaveCount 0
    }

    It 'names the project, its licence and its release notes from CHANGELOG.md' {
        $data = Import-PowerShellDataFile (Join-Path $ModulePath 'PimBridge.psd1')
        $data.PrivateData.PSData.ProjectUri | Should -Match '^https://'
        $data.PrivateData.PSData.LicenseUri | Should -Match '^https://.+LICENSE$'
        $section = Get-ChangelogSection -Path (Join-Path $RepoRoot 'CHANGELOG.md') -Version $data.ModuleVersion
        $data.PrivateData.PSData.ReleaseNotes | Should -Be $section
    }

    It 'installs with Install-PSResource into a fresh profile, imports by name, and decides against its own emulator' {
        $script = @'
$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name Local -Uri $env:PIMBRIDGE_TEST_REPO -Trusted
Install-PSResource -Name PimBridge -Repository Local -Scope CurrentUser
Import-Module PimBridge
$command = 'Import-Module PimBridge; Start-PimEmulator -Scenario bulk:5'
$emulator = Start-Process -FilePath $env:PIMBRIDGE_TEST_PWSH -ArgumentList '-NoProfile', '-NonInteractive', '-Command', $command -RedirectStandardOutput $env:PIMBRIDGE_TEST_LOG -PassThru
try {
    # Waits for its first line; the bound only tells a hang from a start.
    $deadline = [datetime]::UtcNow.AddSeconds(60)
    while (-not ((Get-Content $env:PIMBRIDGE_TEST_LOG -TotalCount 1 -ErrorAction Ignore) -match '^listening (\S+)') -and [datetime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
    $uri = $Matches[1]
    $token = ConvertTo-SecureString (Invoke-RestMethod -Method Post "$uri/_emulator/token").access_token -AsPlainText -Force
    $common = @{ GraphUri = $uri; AccessToken = $token }
    $out = @(Get-PimPending @common -Surface DirectoryRole | Approve-PimRequest -Justification 'Installed from the package' -Confirm:$false @common)
    $recorded = @((Invoke-RestMethod "$uri/_emulator/decisions").value)
    [pscustomobject]@{ ModuleBase = (Get-Module PimBridge).ModuleBase; Approved = @($out | Where-Object Result -eq 'Approved').Count; Recorded = $recorded.Count } | ConvertTo-Json -Compress
} finally {
    $emulator.Kill($true)
}
'@
        $saved = @{ HOME = $env:HOME; USERPROFILE = $env:USERPROFILE; LOCALAPPDATA = $env:LOCALAPPDATA; PSModulePath = $env:PSModulePath }
        try {
            $env:HOME = $env:USERPROFILE = Join-Path $Work 'home'
            $env:LOCALAPPDATA = Join-Path $Work 'home/AppData'
            # A fresh pwsh builds its module path from the profile; nothing of this session's leaks in.
            Remove-Item Env:PSModulePath
            $env:PIMBRIDGE_TEST_REPO = $Package.DirectoryName
            $env:PIMBRIDGE_TEST_PWSH = $Pwsh
            $env:PIMBRIDGE_TEST_LOG = Join-Path $Work 'emulator.log'
            $output = & $Pwsh -NoProfile -NonInteractive -Command $script 2>&1
        } finally {
            foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
        }
        $LASTEXITCODE | Should -Be 0 -Because ($output -join "`n")
        $result = ($output | Select-Object -Last 1) | ConvertFrom-Json
        $result.ModuleBase | Should -BeLike "$(Join-Path $Work 'home')*" -Because 'it was imported by name from where Install-PSResource put it'
        $result.Approved | Should -Be 5
        $result.Recorded | Should -Be 5
    }
}
