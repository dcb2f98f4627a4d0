# Where the interop looks for the native library, for every platform a package carries
# (NativeLibraryLocator.cs): runtimes/<rid>/native/<file> beside the assembly, the file named as
# each OS names libraries, and PIMBRIDGE_NATIVE_LIB first. Only linux-x64 can be loaded here; the
# paths are checked for all.

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    Import-Module $ModulePath -Force
    $script:Locator = [PimBridge.Interop.NativeLibraryLocator]
    $script:Dir = [IO.Path]::Combine([IO.Path]::GetTempPath(), 'PimBridge')
}

Describe 'The native library''s path, for every RID' {
    It 'knows every RID a package carries' {
        $Locator::KnownRids | Should -Be @('linux-x64', 'linux-arm64', 'win-x64', 'win-arm64', 'osx-x64', 'osx-arm64')
    }

    It 'looks for <File> in runtimes/<Rid>/native' -ForEach @(
        @{ Rid = 'linux-x64'; File = 'libpim_bridge.so' }
        @{ Rid = 'linux-arm64'; File = 'libpim_bridge.so' }
        @{ Rid = 'win-x64'; File = 'pim_bridge.dll' }
        @{ Rid = 'win-arm64'; File = 'pim_bridge.dll' }
        @{ Rid = 'osx-x64'; File = 'libpim_bridge.dylib' }
        @{ Rid = 'osx-arm64'; File = 'libpim_bridge.dylib' }
    ) {
        $Locator::FileNameFor($Rid) | Should -BeExactly $File
        $Locator::CandidatePath($Dir, $Rid, $null) | Should -BeExactly ([IO.Path]::Combine($Dir, 'runtimes', $Rid, 'native', $File))
        $Locator::CandidatePath($Dir, $Rid, '') | Should -BeExactly ([IO.Path]::Combine($Dir, 'runtimes', $Rid, 'native', $File))
        $Locator::CandidatePath($Dir, $Rid, '/opt/pim/custom.lib') | Should -BeExactly '/opt/pim/custom.lib' -Because 'PIMBRIDGE_NATIVE_LIB wins'
    }

    It 'names the RID of an OS and architecture as the runtimes folders do' -ForEach @(
        @{ Os = 'linux'; Arch = 'X64'; Rid = 'linux-x64' }
        @{ Os = 'linux'; Arch = 'Arm64'; Rid = 'linux-arm64' }
        @{ Os = 'win'; Arch = 'X64'; Rid = 'win-x64' }
        @{ Os = 'win'; Arch = 'Arm64'; Rid = 'win-arm64' }
        @{ Os = 'osx'; Arch = 'X64'; Rid = 'osx-x64' }
        @{ Os = 'osx'; Arch = 'Arm64'; Rid = 'osx-arm64' }
    ) {
        $Locator::RidFor($Os, [System.Runtime.InteropServices.Architecture]$Arch) | Should -BeExactly $Rid
    }

    It 'finds this process''s library where the built module lays it out' {
        $Locator::Rid | Should -BeIn $Locator::KnownRids
        $assemblyDir = Split-Path -Parent ([PimBridge.Interop.NativeLibraryLocator].Assembly.Location)
        if (-not $env:PIMBRIDGE_NATIVE_LIB) {
            $Locator::ExpectedPath | Should -BeExactly $Locator::CandidatePath($assemblyDir, $Locator::Rid, $null)
            Test-Path -LiteralPath $Locator::ExpectedPath | Should -BeTrue
        }
    }
}
