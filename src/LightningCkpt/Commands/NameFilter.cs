using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;

namespace LightningCkpt.Commands
{
    /// <summary>Case-insensitive PowerShell wildcard matching of tensor names, as -Name/-Include/-Exclude use it.</summary>
    internal sealed class NameFilter
    {
        private readonly WildcardPattern[] _patterns;
        private readonly string[] _literals;

        public NameFilter(IEnumerable<string>? patterns)
        {
            var list = (patterns ?? Array.Empty<string>()).Where(p => p != null).ToArray();
            _patterns = list.Select(p => WildcardPattern.Get(p, WildcardOptions.IgnoreCase)).ToArray();
            _literals = list.Where(p => !WildcardPattern.ContainsWildcardCharacters(p)).ToArray();
        }

        public bool IsEmpty => _patterns.Length == 0;

        /// <summary>-Include/-Exclude as one rule: a name is kept when it matches an include (or none is given) and no exclude; null when both are empty.</summary>
        public static Func<string, bool>? IncludeExclude(IEnumerable<string>? include, IEnumerable<string>? exclude)
        {
            var inc = new NameFilter(include);
            var exc = new NameFilter(exclude);
            if (inc.IsEmpty && exc.IsEmpty) return null;
            return name => (inc.IsEmpty || inc.IsMatch(name)) && !exc.IsMatch(name);
        }

        public bool IsMatch(string name)
        {
            foreach (var p in _patterns) if (p.IsMatch(name)) return true;
            return false;
        }

        /// <summary>The patterns without wildcards that matched none of <paramref name="names"/> (reported like Get-Process -Name).</summary>
        public IEnumerable<string> UnmatchedLiterals(IEnumerable<string> names)
        {
            if (_literals.Length == 0) return Array.Empty<string>();
            var set = new HashSet<string>(names, StringComparer.OrdinalIgnoreCase);
            return _literals.Where(l => !set.Contains(WildcardPattern.Unescape(l)));
        }
    }
}
