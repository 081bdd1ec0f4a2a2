using System;
using System.Collections.Generic;

namespace LightningCkpt.Remote
{
    /// <summary>
    /// How remote objects are requested: a bearer token, extra headers (as Invoke-WebRequest's -Headers), the
    /// per-request timeout and the retry budget for 429/5xx answers and dropped connections.
    /// </summary>
    public sealed class RemoteOptions
    {
        /// <summary>Sent as "Authorization: Bearer …" to the host named in the URL (never to a host redirected to).</summary>
        public string? Token { get; set; }

        /// <summary>Where the token came from, for the 401/403 message ("-Token", "HF_TOKEN"); never the token itself.</summary>
        public string? TokenSource { get; set; }

        /// <summary>Extra request headers, sent to the host named in the URL.</summary>
        public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        /// <summary>Longest wait for one request (headers and body).</summary>
        public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(100);

        /// <summary>Attempts per range (the first one included) for 429/5xx and dropped connections.</summary>
        public int MaxAttempts { get; set; } = 4;

        /// <summary>The first retry's wait; each further one doubles it (a Retry-After answer is honoured up to <see cref="MaxBackoff"/>).</summary>
        public TimeSpan FirstBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

        public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(10);

        /// <summary>
        /// The token for <paramref name="uri"/> when none was given: HF_TOKEN for huggingface.co (as the hub's own
        /// clients do), otherwise none.
        /// </summary>
        public static string? EnvironmentTokenFor(Uri uri)
        {
            var host = uri.Host;
            bool hub = host.Equals("huggingface.co", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".huggingface.co", StringComparison.OrdinalIgnoreCase);
            if (!hub) return null;
            var t = Environment.GetEnvironmentVariable("HF_TOKEN");
            return string.IsNullOrEmpty(t) ? null : t;
        }
    }
}
