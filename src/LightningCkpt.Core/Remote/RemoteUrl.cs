using System;
using System.Text;

namespace LightningCkpt.Remote
{
    /// <summary>
    /// Tells a URL from a path and makes the text shown for it: the scheme, host and path only, with user info
    /// removed and every query value (presigned S3/GCS signatures, Azure SAS tokens) replaced, so no credential
    /// reaches a Path, a Name, an error or a verbose line.
    /// </summary>
    public static class RemoteUrl
    {
        public const string Redacted = "REDACTED";

        /// <summary>True for an absolute http:// or https:// URL.</summary>
        public static bool IsRemote(string? text) =>
            text != null
            && (text.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            && Uri.TryCreate(text, UriKind.Absolute, out _);

        /// <summary>The URL, or an error saying why the text is not a usable http(s) URL.</summary>
        public static Uri Parse(string text)
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                throw new ArgumentException($"'{RedactText(text)}' is not an http:// or https:// URL");
            return uri;
        }

        /// <summary>The URL as it may be shown: no user info, query values replaced by <see cref="Redacted"/>, no fragment.</summary>
        public static string Redact(Uri uri)
        {
            var sb = new StringBuilder();
            sb.Append(uri.Scheme).Append("://").Append(uri.Host);
            if (!uri.IsDefaultPort) sb.Append(':').Append(uri.Port);
            sb.Append(uri.AbsolutePath);
            var query = uri.Query;
            if (query.Length > 1)
            {
                sb.Append('?');
                var pairs = query.Substring(1).Split('&');
                for (int i = 0; i < pairs.Length; i++)
                {
                    if (i > 0) sb.Append('&');
                    int eq = pairs[i].IndexOf('=');
                    sb.Append(eq < 0 ? Redacted : pairs[i].Substring(0, eq) + "=" + Redacted);
                }
            }
            return sb.ToString();
        }

        /// <summary><see cref="Redact(Uri)"/> for text that may not parse: everything after '?' and any user info go.</summary>
        public static string RedactText(string text)
        {
            if (Uri.TryCreate(text, UriKind.Absolute, out var uri)) return Redact(uri);
            int q = text.IndexOf('?');
            return q < 0 ? text : text.Substring(0, q) + "?" + Redacted;
        }

        /// <summary>
        /// The file name of a path, or of a URL (its last path segment, without the query): what Name properties show.
        /// A DCP checkpoint by the URL of its .metadata is named by its folder, as it is on disk.
        /// </summary>
        public static string FileNameOf(string pathOrUrl)
        {
            if (!IsRemote(pathOrUrl)) return System.IO.Path.GetFileName(pathOrUrl);
            var uri = new Uri(pathOrUrl);
            var name = NameOf(uri);
            if (name != DcpMetadataName) return name;
            var dir = uri.AbsolutePath.Substring(0, uri.AbsolutePath.LastIndexOf('/'));
            var folder = Uri.UnescapeDataString(dir.Substring(dir.LastIndexOf('/') + 1));
            return folder.Length > 0 ? folder : name;
        }

        /// <summary>The file a DCP folder is opened by (its global metadata).</summary>
        internal const string DcpMetadataName = ".metadata";

        /// <summary>The object's file name: the last path segment, unescaped.</summary>
        public static string NameOf(Uri uri)
        {
            var path = uri.AbsolutePath;
            var last = path.Substring(path.LastIndexOf('/') + 1);
            return Uri.UnescapeDataString(last);
        }
    }
}
