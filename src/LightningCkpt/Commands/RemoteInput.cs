using System;
using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;
using System.Runtime.InteropServices;
using System.Security;
using LightningCkpt.Remote;

namespace LightningCkpt.Commands
{
    /// <summary>
    /// The remote side of input resolution, kept apart from path binding: which inputs are URLs, the session that
    /// reads them (token, headers, timeout from the cmdlet's parameters), and the documented error ids of remote
    /// failures. Every id here is listed in about_LightningCkpt.
    /// </summary>
    internal static class RemoteInput
    {
        public static bool IsUrl(string? text) => RemoteUrl.IsRemote(text);

        /// <summary>An input as it may appear in an error record or message: a URL loses its credentials.</summary>
        public static string Shown(string input) => IsUrl(input) ? RemoteUrl.RedactText(input) : input;

        /// <summary>The -Uri values as URL text; anything but an absolute http(s) URL is a non-terminating UriNotHttp error.</summary>
        public static IEnumerable<string> Urls(PSCmdlet cmdlet, IEnumerable<string> uris)
        {
            foreach (var u in uris)
            {
                if (u == null) continue;
                if (IsUrl(u)) { yield return u; continue; }
                cmdlet.WriteError(new ErrorRecord(new ArgumentException($"'{RemoteUrl.RedactText(u)}' is not an http:// or https:// URL; pass files with -Path"),
                    "UriNotHttp", ErrorCategory.InvalidArgument, RemoteUrl.RedactText(u)));
            }
        }

        /// <summary>A session for one cmdlet call; its requests go to the verbose stream (redacted URLs only).</summary>
        public static RemoteSession NewSession(Cmdlet cmdlet, SecureString? token, IDictionary? headers, int timeoutSec)
        {
            var options = new RemoteOptions { Token = Plain(token), TokenSource = token != null ? "-Token" : null };
            if (timeoutSec > 0) options.Timeout = TimeSpan.FromSeconds(timeoutSec);
            if (headers != null)
                foreach (DictionaryEntry h in headers)
                    options.Headers[h.Key?.ToString() ?? ""] = h.Value is PSObject p ? p.BaseObject?.ToString() ?? "" : h.Value?.ToString() ?? "";
            return new RemoteSession(options) { Log = VerboseLog(cmdlet) };
        }

        /// <summary>Verbose lines come from worker threads too: only the pipeline thread may write, so others are dropped.</summary>
        private static Action<string> VerboseLog(Cmdlet cmdlet)
        {
            int pipeline = System.Threading.Thread.CurrentThread.ManagedThreadId;
            return line =>
            {
                if (System.Threading.Thread.CurrentThread.ManagedThreadId != pipeline) return;
                try { cmdlet.WriteVerbose(line); } catch (PSInvalidOperationException) { }
            };
        }

        /// <summary>The line a cmdlet writes at its end: what its remote inputs cost (the bench and the tests read it).</summary>
        public static string Summary(RemoteSession s) => $"Remote: {s.Requests} requests, {s.BytesReceived} bytes received";

        private static string? Plain(SecureString? s)
        {
            if (s == null) return null;
            IntPtr p = Marshal.SecureStringToGlobalAllocUnicode(s);
            try { return Marshal.PtrToStringUni(p); }
            finally { Marshal.ZeroFreeGlobalAllocUnicode(p); }
        }

        /// <summary>The error record of a remote failure; the target is the redacted URL.</summary>
        public static ErrorRecord ErrorFor(RemoteSourceException e)
        {
            var (id, category) = e.Problem switch
            {
                RemoteProblem.Unauthorized => ("RemoteUnauthorized", ErrorCategory.AuthenticationError),
                RemoteProblem.Forbidden => ("RemoteForbidden", ErrorCategory.PermissionDenied),
                RemoteProblem.NotFound => ("RemoteNotFound", ErrorCategory.ObjectNotFound),
                RemoteProblem.Timeout => ("RemoteTimeout", ErrorCategory.OperationTimeout),
                RemoteProblem.RangeNotSupported => ("RemoteRangeNotSupported", ErrorCategory.NotImplemented),
                _ => ("RemoteRequestFailed", ErrorCategory.ConnectionError),
            };
            return new ErrorRecord(e, id, category, e.Url);
        }
    }

    /// <summary>Lets -Token take a plain string (an environment variable) as well as a SecureString, like a credential prompt would.</summary>
    internal sealed class SecureStringTransformationAttribute : ArgumentTransformationAttribute
    {
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            var value = inputData is PSObject p ? p.BaseObject : inputData;
            if (!(value is string s)) return inputData;
            var secure = new SecureString();
            foreach (var c in s) secure.AppendChar(c);
            secure.MakeReadOnly();
            return secure;
        }
    }
}
