using System;
using System.Collections;
using System.Management.Automation;
using System.Security;
using LightningCkpt.Remote;

namespace LightningCkpt.Commands
{
    /// <summary>
    /// The remote inputs of the file-reading cmdlets: -Uri (and http(s) URLs given to -Path or piped as strings),
    /// -Token, -Headers, -TimeoutSec, and the one session per call that reads them. Kept apart from the path binding.
    /// </summary>
    public abstract partial class CkptCommandBase
    {
        internal const string UriSet = "Uri";
        private RemoteSession? _remote;

        /// <summary>Checkpoints behind http(s) URLs (presigned, SAS and Hugging Face resolve URLs included); read by range requests.</summary>
        [Parameter(Mandatory = true, ParameterSetName = UriSet, ValueFromPipelineByPropertyName = true)]
        [Alias("Url")]
        public string[] Uri { get; set; } = Array.Empty<string>();

        /// <summary>Bearer token for URLs (HF_TOKEN is used for huggingface.co when none is given); sent only to the host named in the URL.</summary>
        [Parameter]
        [SecureStringTransformation]
        public SecureString? Token { get; set; }

        /// <summary>Extra request headers for URLs, as Invoke-WebRequest's -Headers.</summary>
        [Parameter]
        public IDictionary? Headers { get; set; }

        /// <summary>Longest wait, in seconds, for one request to a URL (default 100).</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int TimeoutSec { get; set; }

        /// <summary>This call's remote session (created on first use).</summary>
        internal RemoteSession RemoteAccess => _remote ??= RemoteInput.NewSession(this, Token, Headers, TimeoutSec);

        /// <summary>Opens a resolved input: a file, a folder, or a URL through this call's session.</summary>
        protected Checkpoint OpenCheckpoint(string input) =>
            RemoteInput.IsUrl(input) ? Checkpoint.Open(input, RemoteAccess) : Checkpoint.Open(input);

        /// <summary>Ctrl+C: requests in flight stop (cmdlets with data work cancel it too, then call this).</summary>
        protected override void StopProcessing() => _remote?.Cancel();
    }
}
