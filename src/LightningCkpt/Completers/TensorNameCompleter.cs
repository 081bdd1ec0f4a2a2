using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace LightningCkpt.Commands.Completers
{
    /// <summary>
    /// Completes tensor names from the checkpoint the command line already names (-Path, -LiteralPath,
    /// -ReferencePath or -InputObject), resolved in the current runspace. Reads metadata only, caches per
    /// (file, last write time), and never throws.
    /// </summary>
    internal sealed class TensorNameCompleter : IArgumentCompleter
    {
        private const int CacheSize = 8;
        private static readonly object Gate = new object();
        private static readonly List<(string File, DateTime Stamp, bool All, Entry[] Names)> Cache = new List<(string, DateTime, bool, Entry[])>();

        internal readonly struct Entry
        {
            public Entry(string name, string tip) { Name = name; Tip = tip; }
            public string Name { get; }
            public string Tip { get; }
        }

        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            try
            {
                var file = FileOf(fakeBoundParameters);
                if (file == null) return Array.Empty<CompletionResult>();
                bool all = IsSet(fakeBoundParameters, "All");
                var names = NamesOf(file, all);
                var word = Unquote(wordToComplete ?? "");
                var pattern = WildcardPattern.Get(word + "*", WildcardOptions.IgnoreCase);
                return names.Where(e => pattern.IsMatch(e.Name))
                            .Select(e => new CompletionResult(Quote(e.Name), e.Name, CompletionResultType.ParameterValue, e.Tip))
                            .ToList();
            }
            catch
            {
                return Array.Empty<CompletionResult>();
            }
        }

        /// <summary>The checkpoint named on the command line, resolved like the cmdlet would (first match), or null.</summary>
        internal static string? FileOf(IDictionary bound)
        {
            if (bound == null) return null;
            if (bound.Contains("InputObject") && Unwrap(bound["InputObject"]) is CkptInfo info) return info.FullName;
            foreach (var (key, literal) in new[] { ("LiteralPath", true), ("ReferencePath", true), ("Path", false) })
            {
                if (!bound.Contains(key)) continue;
                var text = FirstString(bound[key]);
                if (string.IsNullOrEmpty(text)) continue;
                return Resolve(text!, literal);
            }
            return null;
        }

        private static string? Resolve(string path, bool literal)
        {
            using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
            ps.AddCommand("Microsoft.PowerShell.Management\\Resolve-Path")
              .AddParameter(literal ? "LiteralPath" : "Path", path)
              .AddParameter("ErrorAction", "Ignore");
            foreach (var result in ps.Invoke())
            {
                if (result?.BaseObject is PathInfo p && p.Provider.ImplementingType == typeof(Microsoft.PowerShell.Commands.FileSystemProvider)
                    && File.Exists(p.ProviderPath))
                    return p.ProviderPath;
            }
            return null;
        }

        internal static Entry[] NamesOf(string file, bool all)
        {
            var stamp = File.GetLastWriteTimeUtc(file);
            lock (Gate)
            {
                foreach (var c in Cache)
                    if (c.File == file && c.Stamp == stamp && c.All == all) return c.Names;
            }
            var checkpoint = Checkpoint.Open(file);
            var names = CkptTensor.List(checkpoint, all).Select(t => new Entry(t.Name, $"{t.DType} {t.ShapeText}")).ToArray();
            lock (Gate)
            {
                Cache.RemoveAll(c => c.File == file && c.All == all);
                if (Cache.Count >= CacheSize) Cache.RemoveAt(0);
                Cache.Add((file, stamp, all, names));
            }
            return names;
        }

        private static object? Unwrap(object? o) => o is PSObject p ? p.BaseObject : o;

        private static string? FirstString(object? value)
        {
            value = Unwrap(value);
            if (value is string s) return s;
            if (value is IEnumerable e)
                foreach (var item in e) return Unwrap(item)?.ToString();
            return value?.ToString();
        }

        private static bool IsSet(IDictionary bound, string key)
        {
            if (!bound.Contains(key)) return false;
            var v = Unwrap(bound[key]);
            return v switch { SwitchParameter sw => sw.IsPresent, bool b => b, null => true, _ => true };
        }

        internal static string Unquote(string word)
        {
            if (word.Length > 0 && (word[0] == '\'' || word[0] == '"')) word = word.Substring(1);
            if (word.Length > 0 && (word[word.Length - 1] == '\'' || word[word.Length - 1] == '"')) word = word.Substring(0, word.Length - 1);
            return word;
        }

        /// <summary>
        /// The text to insert: the name with its wildcard characters escaped (the parameters take wildcards),
        /// single-quoted when PowerShell would otherwise split or interpret it.
        /// </summary>
        internal static string Quote(string name) => QuoteLiteral(WildcardPattern.Escape(name));

        /// <summary>The text to insert for a value taken literally (-Key, -StripPrefix): single-quoted when PowerShell would split or interpret it.</summary>
        internal static string QuoteLiteral(string text)
        {
            bool needsQuotes = text.Length == 0 || text.Any(ch => char.IsWhiteSpace(ch) || "'\"`$(){}[],;@#|&<>".IndexOf(ch) >= 0)
                               || text[0] == '-';
            return needsQuotes ? "'" + CodeGeneration.EscapeSingleQuotedStringContent(text) + "'" : text;
        }
    }
}
