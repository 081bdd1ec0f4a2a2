using System;
using System.IO;

namespace LightningCkpt.Remote
{
    /// <summary>Why a remote object could not be read (the cmdlets map each kind to a documented error id).</summary>
    public enum RemoteProblem
    {
        /// <summary>401: the server wants credentials.</summary>
        Unauthorized,
        /// <summary>403: the credentials (token, signature) were refused or have expired.</summary>
        Forbidden,
        /// <summary>404 / 410: no such object.</summary>
        NotFound,
        /// <summary>No answer within the timeout.</summary>
        Timeout,
        /// <summary>The server answers a range request with the whole (large) object.</summary>
        RangeNotSupported,
        /// <summary>Any other failure, including 429/5xx and dropped connections after the last retry.</summary>
        RequestFailed,
    }

    /// <summary>A remote object that could not be read; the message names the redacted URL, never a credential.</summary>
    [Serializable]
    public sealed class RemoteSourceException : IOException
    {
        public RemoteSourceException(string redactedUrl, RemoteProblem problem, string reason, int statusCode = 0, Exception? inner = null)
            : base($"{redactedUrl}: {reason}", inner)
        {
            Url = redactedUrl;
            Problem = problem;
            StatusCode = statusCode;
        }

        /// <summary>The URL with its query values and user info redacted.</summary>
        public string Url { get; }

        public RemoteProblem Problem { get; }

        /// <summary>The last HTTP status seen (0 when there was no answer).</summary>
        public int StatusCode { get; }
    }
}
