# Shared by the Pester tests: a real pim-emulator on a free loopback port, tokens it mints, and its
# record of what it received. Dot-source in BeforeAll.

$script:RepoRoot = if ($env:PIMBRIDGE_ROOT) { $env:PIMBRIDGE_ROOT } else { (Resolve-Path "$PSScriptRoot/../..").Path }
$script:ModulePath = Join-Path $script:RepoRoot 'out/PimBridge'
$script:EmulatorPath = Join-Path $script:RepoRoot ('target/release/pim-emulator' + ($IsWindows ? '.exe' : ''))

function Start-TestEmulator {
    param([string] $Scenario = 'demo', [string[]] $Extra = @())
    $log = New-TemporaryFile
    $arguments = @('--listen', '127.0.0.1:0', '--scenario', $Scenario) + $Extra
    $process = Start-Process -FilePath $script:EmulatorPath -ArgumentList $arguments -RedirectStandardOutput $log.FullName -PassThru -NoNewWindow
    for ($i = 0; $i -lt 400; $i++) {
        $first = Get-Content -Path $log.FullName -TotalCount 1 -ErrorAction Ignore
        if ($first -match '^listening (\S+)') {
            return [pscustomobject]@{ Process = $process; Uri = $Matches[1]; Log = $log.FullName }
        }
        Start-Sleep -Milliseconds 25
    }
    throw "pim-emulator did not start ($script:EmulatorPath)"
}

function Stop-TestEmulator($Emulator) {
    if ($Emulator -and -not $Emulator.Process.HasExited) { $Emulator.Process.Kill(); $Emulator.Process.WaitForExit() }
    if ($Emulator) { Remove-Item -Force -ErrorAction Ignore $Emulator.Log }
}

function Get-TestTokenText($Emulator, [hashtable] $Body = @{}) {
    (Invoke-RestMethod -Method Post -Uri "$($Emulator.Uri)/_emulator/token" -Body ($Body | ConvertTo-Json) -ContentType 'application/json').access_token
}

function New-TestToken($Emulator, [hashtable] $Body = @{}) {
    ConvertTo-SecureString (Get-TestTokenText $Emulator $Body) -AsPlainText -Force
}

function Get-TestDecisions($Emulator) {
    @((Invoke-RestMethod -Uri "$($Emulator.Uri)/_emulator/decisions").value)
}

function Get-TestCalls($Emulator, [string] $Like = '*') {
    $stats = Invoke-RestMethod -Uri "$($Emulator.Uri)/_emulator/stats"
    ($stats.routes | Where-Object route -like $Like | Measure-Object -Property count -Sum).Sum
}
