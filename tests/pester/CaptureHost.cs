// A PowerShell host for the tests that keeps everything written to it: what -WhatIf prints, the
// -Confirm prompt (answered with a fixed choice), warnings written to the host, and the lines of
// Set-PSDebug -Trace. Loaded by TestHelpers.ps1 (Invoke-CaptureHost). Given a width, it is a
// console of that many columns (Out-Default formats to it), as a user's terminal would be.

using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;
using System.Text;

namespace PimBridgeTests
{
    public sealed class CaptureHost : PSHost
    {
        private readonly CaptureUI ui;

        /// <param name="choice">The answer to every PromptForChoice (for -Confirm: 0 Yes, 1 Yes to All, 2 No, 3 No to All).</param>
        public CaptureHost(int choice) { ui = new CaptureUI(choice, 0); }

        /// <param name="choice">As above.</param>
        /// <param name="width">The console's width in columns (0: no console, as without it).</param>
        public CaptureHost(int choice, int width) { ui = new CaptureUI(choice, width); }

        /// <summary>Everything written to the host so far.</summary>
        public string Text => ui.Text;
        /// <summary>The captions and messages of the prompts shown so far.</summary>
        public IReadOnlyList<string> Prompts => ui.Prompts;

        public override string Name => "PimBridgeTestsCapture";
        public override Version Version => new Version(1, 0);
        public override Guid InstanceId { get; } = Guid.NewGuid();
        public override PSHostUserInterface UI => ui;
        public override CultureInfo CurrentCulture => CultureInfo.CurrentCulture;
        public override CultureInfo CurrentUICulture => CultureInfo.CurrentUICulture;
        public override void SetShouldExit(int exitCode) { }
        public override void EnterNestedPrompt() { throw new NotSupportedException(); }
        public override void ExitNestedPrompt() { throw new NotSupportedException(); }
        public override void NotifyBeginApplication() { }
        public override void NotifyEndApplication() { }
    }

    internal sealed class CaptureUI : PSHostUserInterface
    {
        private readonly StringBuilder text = new StringBuilder();
        private readonly List<string> prompts = new List<string>();
        private readonly object gate = new object();
        private readonly int choice;
        private readonly PSHostRawUserInterface rawUI;

        public CaptureUI(int choice, int width)
        {
            this.choice = choice;
            rawUI = width > 0 ? new CaptureRawUI(width) : null;
        }

        public string Text { get { lock (gate) { return text.ToString(); } } }
        public IReadOnlyList<string> Prompts { get { lock (gate) { return prompts.ToArray(); } } }

        private void Add(string s) { lock (gate) { text.Append(s); } }

        public override PSHostRawUserInterface RawUI => rawUI;
        public override string ReadLine() { return string.Empty; }
        public override SecureString ReadLineAsSecureString() { return new SecureString(); }
        public override void Write(string value) { Add(value); }
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) { Add(value); }
        public override void WriteLine(string value) { Add(value + "\n"); }
        public override void WriteErrorLine(string value) { Add("ERROR: " + value + "\n"); }
        public override void WriteDebugLine(string message) { Add("DEBUG: " + message + "\n"); }
        public override void WriteProgress(long sourceId, ProgressRecord record) { Add("PROGRESS: " + record.Activity + " " + record.StatusDescription + "\n"); }
        public override void WriteVerboseLine(string message) { Add("VERBOSE: " + message + "\n"); }
        public override void WriteWarningLine(string message) { Add("WARNING: " + message + "\n"); }

        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions)
        {
            throw new NotSupportedException("The tests answer no prompt for values.");
        }

        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName)
        {
            throw new NotSupportedException("The tests answer no prompt for credentials.");
        }

        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options)
        {
            throw new NotSupportedException("The tests answer no prompt for credentials.");
        }

        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
        {
            lock (gate)
            {
                prompts.Add(caption + "\n" + message);
                text.Append("PROMPT: " + caption + "\n" + message + "\n");
            }
            return choice;
        }
    }

    /// <summary>A console of a fixed width, as far as formatting asks (its size); it draws nothing.</summary>
    internal sealed class CaptureRawUI : PSHostRawUserInterface
    {
        private readonly Size size;

        public CaptureRawUI(int width) { size = new Size(width, 50); }

        public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;
        public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;
        public override Size BufferSize { get => new Size(size.Width, 9999); set { } }
        public override Coordinates CursorPosition { get; set; }
        public override int CursorSize { get; set; }
        public override bool KeyAvailable => false;
        public override Size MaxPhysicalWindowSize => size;
        public override Size MaxWindowSize => size;
        public override Coordinates WindowPosition { get; set; }
        public override Size WindowSize { get => size; set { } }
        public override string WindowTitle { get; set; } = string.Empty;
        public override void FlushInputBuffer() { }
        public override BufferCell[,] GetBufferContents(Rectangle rectangle) { throw new NotSupportedException(); }
        public override KeyInfo ReadKey(ReadKeyOptions options) { throw new NotSupportedException(); }
        public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) { }
        public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) { }
        public override void SetBufferContents(Rectangle rectangle, BufferCell fill) { }
    }
}
