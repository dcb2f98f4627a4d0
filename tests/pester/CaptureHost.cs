// A PowerShell host for the tests that keeps everything written to it: what -WhatIf prints, the
// -Confirm prompt (answered with a fixed choice), warnings written to the host, and the lines of
// Set-PSDebug -Trace. Loaded by TestHelpers.ps1 (Invoke-CaptureHost). Given a width, it is a
// console of that many columns (Out-Default formats to it), as a user's terminal would be.
//
// A test can also act as the person at the console, at known points: before answering a prompt,
// wait on an event (GET a URL, such as the emulator's /_emulator/wait, and keep its status), or
// press Ctrl+C at a prompt (stop the PowerShell running the pipeline, as the console host does);
// and wait until the host has been sent some text (WaitForText), instead of sleeping.

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

        /// <summary>Before answering the prompt of this index (0 for the first), GET this URL and keep its status in <see cref="WaitStatus"/>.</summary>
        public IDictionary<int, string> BeforeAnswer => ui.BeforeAnswer;
        /// <summary>The HTTP status of each GET made before a prompt, by the prompt's index.</summary>
        public IReadOnlyDictionary<int, int> WaitStatus => ui.WaitStatus;
        /// <summary>At the prompt of this index (after its GET, if any), Ctrl+C: <see cref="StopTarget"/> is stopped and the prompt ends the pipeline. -1: never.</summary>
        public int StopAtPrompt { get => ui.StopAtPrompt; set => ui.StopAtPrompt = value; }
        /// <summary>The PowerShell whose pipeline a Ctrl+C stops.</summary>
        public PowerShell StopTarget { get => ui.StopTarget; set => ui.StopTarget = value; }

        /// <summary>Waits until the text written to the host contains <paramref name="fragment"/>; false when <paramref name="timeoutMs"/> passes first.</summary>
        public bool WaitForText(string fragment, int timeoutMs) => ui.WaitForText(fragment, timeoutMs);

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

        public IDictionary<int, string> BeforeAnswer { get; } = new Dictionary<int, string>();
        private readonly Dictionary<int, int> waitStatus = new Dictionary<int, int>();
        public IReadOnlyDictionary<int, int> WaitStatus { get { lock (gate) { return new Dictionary<int, int>(waitStatus); } } }
        public int StopAtPrompt { get; set; } = -1;
        public PowerShell StopTarget { get; set; }
        private static readonly System.Net.Http.HttpClient http = new System.Net.Http.HttpClient { Timeout = TimeSpan.FromMinutes(10) };

        private void Add(string s)
        {
            lock (gate)
            {
                text.Append(s);
                System.Threading.Monitor.PulseAll(gate);
            }
        }

        public bool WaitForText(string fragment, int timeoutMs)
        {
            DateTime deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
            lock (gate)
            {
                while (text.ToString().IndexOf(fragment, StringComparison.Ordinal) < 0)
                {
                    TimeSpan left = deadline - DateTime.UtcNow;
                    if (left <= TimeSpan.Zero) return false;
                    System.Threading.Monitor.Wait(gate, left);
                }
                return true;
            }
        }

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
            int index;
            lock (gate)
            {
                index = prompts.Count;
                prompts.Add(caption + "\n" + message);
                text.Append("PROMPT: " + caption + "\n" + message + "\n");
                System.Threading.Monitor.PulseAll(gate);
            }
            if (BeforeAnswer.TryGetValue(index, out string url))
            {
                // The person waits for something to happen before answering: an event, not a sleep.
                using (var response = http.GetAsync(url).GetAwaiter().GetResult())
                {
                    lock (gate) { waitStatus[index] = (int)response.StatusCode; }
                }
            }
            if (index == StopAtPrompt)
            {
                // Ctrl+C at the prompt: the console host stops the running pipeline, and the prompt ends it.
                StopTarget?.BeginStop(null, null);
                throw new PipelineStoppedException();
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
