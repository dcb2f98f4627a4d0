# The packaging helpers (tools/Package.psm1) for every platform a release carries, run on whichever
# one this is: the file names each RID's build makes, the release notes read from a CHANGELOG.md
# checked out with either line ending, and the runtimes other runners built gathered and reported by
# the names their OS gives them. Needs no build (docs/platforms.md).

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    Import-Module (Join-Path $RepoRoot 'tools/Package.psm1') -Force
}

Describe 'File names per platform' {
    It '<Rid> builds <Native> and <Emulator>' -ForEach @(
        @{ Rid = 'linux-x64'; Native = 'libpim_bridge.so'; Emulator = 'pim-emulator' }
        @{ Rid = 'linux-arm64'; Native = 'libpim_bridge.so'; Emulator = 'pim-emulator' }
        @{ Rid = 'win-x64'; Native = 'pim_bridge.dll'; Emulator = 'pim-emulator.exe' }
        @{ Rid = 'win-arm64'; Native = 'pim_bridge.dll'; Emulator = 'pim-emulator.exe' }
        @{ Rid = 'osx-x64'; Native = 'libpim_bridge.dylib'; Emulator = 'pim-emulator' }
        @{ Rid = 'osx-arm64'; Native = 'libpim_bridge.dylib'; Emulator = 'pim-emulator' }
    ) {
        Get-PimBridgeFileName -Rid $Rid -Kind Native | Should -BeExactly $Native
        Get-PimBridgeFileName -Rid $Rid -Kind Emulator | Should -BeExactly $Emulator
    }

    It 'refuses a runtime identifier of no OS it knows' {
        { Get-PimBridgeFileName -Rid 'freebsd-x64' -Kind Native } | Should -Throw '*freebsd-x64*'
    }

    It 'names this process''s RID as the runtimes folders do' {
        $os = if ($IsWindows) { 'win' } elseif ($IsMacOS) { 'osx' } else { 'linux' }
        Get-PimBridgeRid | Should -MatchExactly "^$os-(x64|arm64|x86|arm)$"
    }
}

Describe 'Release notes from CHANGELOG.md, whatever the checkout''s line endings' {
    BeforeAll {
        $script:Lines = @('# Changelog', '', '## [0.2.0] - 2026-11-01', '', '- Second.', '', '## 0.1.0', '', '- First release.', '- On every platform.', '')
    }

    It 'reads the same section from a <Name> file' -ForEach @(
        @{ Name = 'lf'; Ending = "`n"; Bom = $false }
        @{ Name = 'crlf'; Ending = "`r`n"; Bom = $false }
        @{ Name = 'crlf-bom'; Ending = "`r`n"; Bom = $true }
    ) {
        $path = Join-Path $TestDrive "CHANGELOG-$Name.md"
        [IO.File]::WriteAllText($path, ($Lines -join $Ending), [Text.UTF8Encoding]::new($Bom))
        Get-ChangelogSection -Path $path -Version '0.1.0' | Should -BeExactly "- First release.`n- On every platform."
        Get-ChangelogSection -Path $path -Version '0.2.0' | Should -BeExactly '- Second.'
    }
}

Describe 'Runtimes built on other runners' {
    It 'gathers and reports Windows and macOS builds by their own file names' {
        # As actions/download-artifact lays out the build jobs' artifacts.
        $downloaded = Join-Path $TestDrive 'downloaded'
        $built = @{
            'pimbridge-win-arm64/runtimes/win-arm64/native' = 'pim_bridge.dll'
            'pimbridge-win-arm64/emulator/win-arm64' = 'pim-emulator.exe'
            'pimbridge-osx-arm64/runtimes/osx-arm64/native' = 'libpim_bridge.dylib'
            'pimbridge-osx-arm64/emulator/osx-arm64' = 'pim-emulator'
        }
        foreach ($dir in $built.Keys) {
            $null = New-Item -ItemType Directory -Force -Path (Join-Path $downloaded $dir)
            Set-Content -Path (Join-Path $downloaded "$dir/$($built[$dir])") -Value 'a build'
        }
        $module = Join-Path $TestDrive 'PimBridge'
        $null = New-Item -ItemType Directory -Force -Path $module
        Add-PimBridgeRuntime -ModuleOut $module -From $downloaded
        $report = @(Get-PimBridgeRuntimeReport -ModuleOut $module)
        $report.Rid | Should -Be @('linux-x64', 'linux-arm64', 'win-x64', 'win-arm64', 'osx-x64', 'osx-arm64')
        foreach ($rid in 'win-arm64', 'osx-arm64') {
            ($report | Where-Object Rid -eq $rid).Native | Should -BeTrue -Because "$rid's library was gathered"
            ($report | Where-Object Rid -eq $rid).Emulator | Should -BeTrue -Because "$rid's emulator was gathered"
        }
        @($report | Where-Object { $_.Rid -notin 'win-arm64', 'osx-arm64' -and ($_.Native -or $_.Emulator) }) | Should -HaveCount 0
    }
}
