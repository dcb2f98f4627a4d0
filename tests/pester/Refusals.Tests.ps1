# What the core refuses before any call reaches the user as a specific error, and an id given
# alone finds its surface: NUL and invisible-only justifications, credentials in an endpoint URI,
# a group request decided by its approval id alone.

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    Import-Module $ModulePath -Force
    $script:Emu = Start-Emulator -Scenario demo
    $script:Common = @{ GraphUri = $Emu.Uri; AccessToken = (New-TestToken $Emu) }
    $script:Pending = @(Get-PimPending @Common -Surface DirectoryRole)
}
AfterAll { Stop-Emulator $Emu }

Describe 'Justifications the core refuses reach the user as PimBridge.InvalidJustification' {
    It 'refuses <Name>, and sends nothing' -ForEach @(
        @{ Name = 'a NUL inside'; Text = "ok$([char]0)but cut here" }
        @{ Name = 'zero-width spaces only'; Text = "$([char]0x200B)$([char]0x200B)" }
        @{ Name = 'a byte-order mark only'; Text = "$([char]0xFEFF)" }
    ) {
        $patches = [int](Get-EmulatorCallCount $Emu 'PATCH*') + [int](Get-EmulatorCallCount $Emu 'POST */$batch')
        $err = { $Pending[0] | Approve-PimRequest -Justification $Text -Confirm:$false @Common } |
            Should -Throw -ErrorId 'PimBridge.InvalidJustification,Approve-PimRequest' -PassThru
        $err.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        Get-EmulatorDecision $Emu | Should -HaveCount 0
        [int](Get-EmulatorCallCount $Emu 'PATCH*') + [int](Get-EmulatorCallCount $Emu 'POST */$batch') | Should -Be $patches -Because "nothing was sent"
    }
}

Describe 'Credentials in an endpoint URI' {
    It 'are refused as PimBridge.InsecureUri before any call, and never shown' {
        $calls = (Invoke-RestMethod "$($Emu.Uri)/_emulator/stats").httpRequests
        $uri = $Emu.Uri -replace '^http://', 'http://approver:s3cretPa55@'
        $err = { Get-PimPending -GraphUri $uri -AccessToken $Common.AccessToken -Surface DirectoryRole } |
            Should -Throw -ErrorId 'PimBridge.InsecureUri,Get-PimPending' -PassThru
        ($err.Exception.Message, $err.ErrorDetails.Message, $err.ErrorDetails.RecommendedAction -join ' ') | Should -Not -Match 's3cretPa55'
        (Invoke-RestMethod "$($Emu.Uri)/_emulator/stats").httpRequests | Should -Be $calls -Because 'no request reached the emulator (its control API is not counted)'
    }
}

Describe 'A group request decided by its id alone' {
    It 'is found on the group surface and denied' {
        $group = @(Get-PimPending @Common -Surface Group)[0]
        $d = Deny-PimRequest -ApprovalId $group.ApprovalId -Justification 'No ticket' -Confirm:$false @Common
        $d.Surface | Should -Be 'Group'
        $d.Result | Should -Be 'Denied'
        (Get-EmulatorDecision $Emu)[-1].approvalId | Should -Be $group.ApprovalId
    }
}
