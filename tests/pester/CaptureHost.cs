// A PowerShell host for the tests that keeps everything written to it: what -WhatIf prints, the
// -Confirm prompt (answered with a fixed choice), warnings written to the host, and the lines of
// Set-PSDebug -Trace. Loaded by TestHelpers.ps1 (Invoke-CaptureHost).

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
        public CaptureHost(int choice) { ui = new CaptureUI(choice); }

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

        public CaptureUI(int choice) { this.choice = choice; }

        public string Text { get { lock (gate) { return text.ToString(); } } }
        public IReadOnlyList<string> Prompts { get { lock (gate) { return prompts.ToArray(); } } }

        private void Add(string s) { lock (gate) { text.Append(s); } }

        public override PSHostRawUserInterface RawUI => null;
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
}
