# Packaging PimBridge as PowerShell users install modules: a .nupkg that Install-PSResource (and
# Install-Module) understands, with the native library and pim-emulator for every platform built.
# Used by `pwsh ./build.ps1 -Task Package` and by the install test (tests/pester/Install.Tests.ps1).

Set-StrictMode -Version 3.0

# The platforms a release carries (each one's file names: Get-PimBridgeFileName).
$script:Rids = @('linux-x64', 'linux-arm64', 'win-x64', 'win-arm64', 'osx-x64', 'osx-arm64')

function Get-PimBridgeRid {
    # The runtime identifier of this process, as the module's runtimes/ folders name it.
    $os = if ($IsWindows) { 'win' } elseif ($IsMacOS) { 'osx' } else { 'linux' }
    "$os-$(([System.Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture).ToString().ToLowerInvariant())"
}

function Get-PimBridgeFileName {
    # What a runtime identifier's build names a file: the native library (pim_bridge.dll on win-*,
    # libpim_bridge.dylib on osx-*, libpim_bridge.so on linux-*) or pim-emulator (.exe on win-*).
    # As NativeLibraryLocator.FileNameFor names the library the module loads.
    param([Parameter(Mandatory)] [string] $Rid, [Parameter(Mandatory)] [ValidateSet('Native', 'Emulator')] [string] $Kind)
    $os = ($Rid -split '-', 2)[0].ToLowerInvariant()
    if ($os -notin 'win', 'osx', 'linux') { throw "Unknown runtime identifier '$Rid' (win-*, osx-* or linux-*)." }
    if ($Kind -eq 'Emulator') { return 'pim-emulator' + ($os -eq 'win' ? '.exe' : '') }
    switch ($os) { 'win' { 'pim_bridge.dll' } 'osx' { 'libpim_bridge.dylib' } default { 'libpim_bridge.so' } }
}

function Get-ChangelogSection {
    # The text of CHANGELOG.md's section for $Version (its bullet lines), for the manifest's ReleaseNotes.
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $Version)
    $lines = Get-Content -Path $Path
    $start = [array]::FindIndex([string[]]$lines, [Predicate[string]] { param($l) $l -match "^## \[?$([regex]::Escape($Version))\]?" })
    if ($start -lt 0) { throw "CHANGELOG.md has no section for ${Version}: add '## $Version' before packaging." }
    $section = foreach ($l in $lines[($start + 1)..($lines.Count - 1)]) { if ($l -match '^## ') { break }; $l }
    ($section -join "`n").Trim()
}

function Add-PimBridgeRuntime {
    # Copies the native libraries and emulators other machines built (their out/PimBridge/runtimes
    # and emulator folders, gathered under $From/<anything>/) into the module laid out at $ModuleOut.
    param([Parameter(Mandatory)] [string] $ModuleOut, [Parameter(Mandatory)] [string] $From)
    foreach ($kind in 'runtimes', 'emulator') {
        foreach ($ridDir in Get-ChildItem -Path $From -Directory -Recurse | Where-Object { $_.Parent.Name -eq $kind -and $_.Name -in $script:Rids }) {
            $target = Join-Path $ModuleOut "$kind/$($ridDir.Name)"
            New-Item -ItemType Directory -Force -Path $target | Out-Null
            Copy-Item -Path (Join-Path $ridDir.FullName '*') -Destination $target -Recurse -Force
        }
    }
}

function Get-PimBridgeRuntimeReport {
    # Which platforms the module at $ModuleOut carries a native library and an emulator for.
    param([Parameter(Mandatory)] [string] $ModuleOut)
    foreach ($rid in $script:Rids) {
        [pscustomobject]@{
            Rid      = $rid
            Native   = Test-Path (Join-Path $ModuleOut "runtimes/$rid/native/$(Get-PimBridgeFileName -Rid $rid -Kind Native)")
            Emulator = Test-Path (Join-Path $ModuleOut "emulator/$rid/$(Get-PimBridgeFileName -Rid $rid -Kind Emulator)")
        }
    }
}

function New-PimBridgePackage {
    # Publishes the module at $ModuleOut to a folder repository at $Destination with PSResourceGet
    # (shipped with pwsh 7.4+) and returns the .nupkg. It runs in a child pwsh whose profile folders
    # are temporary, so the user's own repository list is never touched. (On Windows .NET finds the
    # profile folders through the shell, not through HOME, USERPROFILE or LOCALAPPDATA, so there the
    # registration lands in the user's real list: the script takes it out again, before and after.)
    param(
        [Parameter(Mandatory)] [string] $ModuleOut,
        [Parameter(Mandatory)] [string] $Destination,
        [Parameter(Mandatory)] [string] $Pwsh
    )
    New-Item -ItemType Directory -Force -Path $Destination | Out-Null
    $version = (Import-PowerShellDataFile (Join-Path $ModuleOut 'PimBridge.psd1')).ModuleVersion
    $nupkg = Join-Path $Destination "PimBridge.$version.nupkg"
    Remove-Item -Force -ErrorAction Ignore $nupkg
    $home_ = Join-Path ([IO.Path]::GetTempPath()) "pimbridge-pack-$PID-$([guid]::NewGuid().ToString('n'))"
    # .NET names a profile folder only when it exists; else tools write beside the current folder.
    New-Item -ItemType Directory -Force -Path $home_, "$home_/.config", "$home_/.local/share", "$home_/AppData" | Out-Null
    $script = @'
$ErrorActionPreference = 'Stop'
Unregister-PSResourceRepository -Name PimBridgeBuild -ErrorAction Ignore
Register-PSResourceRepository -Name PimBridgeBuild -Uri $env:PIMBRIDGE_PACK_REPO -Trusted
try {
    Publish-PSResource -Path $env:PIMBRIDGE_PACK_MODULE -Repository PimBridgeBuild
} finally {
    Unregister-PSResourceRepository -Name PimBridgeBuild -ErrorAction Ignore
}
'@
    $saved = @{}
    foreach ($name in 'HOME', 'USERPROFILE', 'LOCALAPPDATA', 'XDG_DATA_HOME', 'PIMBRIDGE_PACK_REPO', 'PIMBRIDGE_PACK_MODULE') { $saved[$name] = [Environment]::GetEnvironmentVariable($name) }
    try {
        $env:HOME = $home_; $env:USERPROFILE = $home_; $env:LOCALAPPDATA = Join-Path $home_ 'AppData'
        Remove-Item Env:XDG_DATA_HOME -ErrorAction Ignore
        $env:PIMBRIDGE_PACK_REPO = (Resolve-Path $Destination).Path
        $env:PIMBRIDGE_PACK_MODULE = (Resolve-Path $ModuleOut).Path
        & $Pwsh -NoProfile -NonInteractive -Command $script
        if ($LASTEXITCODE -ne 0) { throw "Publish-PSResource failed (exit code $LASTEXITCODE)." }
    } finally {
        foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
        Remove-Item -Recurse -Force -ErrorAction Ignore $home_
    }
    if (-not (Test-Path $nupkg)) { throw "Publish-PSResource wrote no $nupkg." }
    Get-Item $nupkg
}

Export-ModuleMember -Function Get-PimBridgeRid, Get-PimBridgeFileName, Get-ChangelogSection, Add-PimBridgeRuntime, Get-PimBridgeRuntimeReport, New-PimBridgePackage
