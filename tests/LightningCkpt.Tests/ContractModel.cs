using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// The PowerShell-facing surface of the built module, read as metadata (MetadataLoadContext): the module
    /// assembly cannot be executed here, because only PowerShell's reference assembly is available.
    /// </summary>
    internal sealed class ContractModel
    {
        public static readonly Lazy<ContractModel> Instance = new Lazy<ContractModel>(() => new ContractModel());

        public string ModuleOutput { get; }
        public Assembly Module { get; }
        public Assembly Core { get; }
        public IReadOnlyList<CmdletInfo> Cmdlets { get; }
        private readonly MetadataLoadContext _context;

        private ContractModel()
        {
            ModuleOutput = FindModuleOutput();
            var sma = typeof(ContractModel).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "PowerShellReferenceAssembly")?.Value
                ?? throw new InvalidOperationException("the test assembly does not name the PowerShell reference assembly");
            if (!File.Exists(sma)) throw new InvalidOperationException("the PowerShell reference assembly is missing at " + sma);
            var runtime = Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll");
            var paths = runtime.Concat(new[] { sma, Path.Combine(ModuleOutput, "LightningCkpt.dll"), Path.Combine(ModuleOutput, "LightningCkpt.Core.dll") });
            _context = new MetadataLoadContext(new PathAssemblyResolver(paths));
            Module = _context.LoadFromAssemblyPath(Path.Combine(ModuleOutput, "LightningCkpt.dll"));
            Core = _context.LoadFromAssemblyPath(Path.Combine(ModuleOutput, "LightningCkpt.Core.dll"));
            Cmdlets = Module.GetTypes()
                .Where(t => t.GetCustomAttributesData().Any(a => a.AttributeType.FullName == "System.Management.Automation.CmdletAttribute"))
                .Select(t => new CmdletInfo(t))
                .OrderBy(c => c.Name, StringComparer.Ordinal)
                .ToList();
        }

        /// <summary>src/LightningCkpt/bin/&lt;this test run's configuration&gt;/netstandard2.0.</summary>
        private static string FindModuleOutput()
        {
            // The tests run from tests/LightningCkpt.Tests/bin/<Configuration>/<tfm>/.
            var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
            var dir = Path.Combine(RepoPaths.Root, "src", "LightningCkpt", "bin", configuration, "netstandard2.0");
            if (!File.Exists(Path.Combine(dir, "LightningCkpt.dll")))
                throw new InvalidOperationException("the module is not built for " + configuration + ": " + dir);
            return dir;
        }

        public Type? CoreType(string fullName) => Core.GetType(fullName);

        public static IEnumerable<CustomAttributeData> Attributes(MemberInfo m, string shortName) =>
            m.GetCustomAttributesData().Where(a => a.AttributeType.Name == shortName + "Attribute");

        public static object? Named(CustomAttributeData a, string name) =>
            a.NamedArguments.Where(n => n.MemberName == name).Select(n => n.TypedValue.Value).FirstOrDefault();
    }

    /// <summary>One cmdlet class as PowerShell would see it.</summary>
    internal sealed class CmdletInfo
    {
        public CmdletInfo(Type type)
        {
            Type = type;
            var attr = ContractModel.Attributes(type, "Cmdlet").Single();
            Verb = (string)attr.ConstructorArguments[0].Value!;
            Noun = (string)attr.ConstructorArguments[1].Value!;
            DefaultParameterSet = ContractModel.Named(attr, "DefaultParameterSetName") as string;
            SupportsShouldProcess = ContractModel.Named(attr, "SupportsShouldProcess") as bool? ?? false;
            Parameters = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => ContractModel.Attributes(p, "Parameter").Any())
                .Select(p => new ParameterInfo(p))
                .ToList();
            OutputTypes = ContractModel.Attributes(type, "OutputType")
                .SelectMany(a => a.ConstructorArguments)
                .SelectMany(arg => arg.Value is IEnumerable<CustomAttributeTypedArgument> many ? many.Select(x => x.Value) : new[] { arg.Value })
                .OfType<Type>()
                .ToList();
        }

        public Type Type { get; }
        public string Verb { get; }
        public string Noun { get; }
        public string Name => Verb + "-" + Noun;
        public string? DefaultParameterSet { get; }
        public bool SupportsShouldProcess { get; }
        public IReadOnlyList<ParameterInfo> Parameters { get; }
        public IReadOnlyList<Type> OutputTypes { get; }

        public ParameterInfo? Parameter(string name) => Parameters.SingleOrDefault(p => p.Name == name);
        public override string ToString() => Name;
    }

    /// <summary>One cmdlet parameter: its property and every [Parameter] on it.</summary>
    internal sealed class ParameterInfo
    {
        public ParameterInfo(PropertyInfo property)
        {
            Property = property;
            Sets = ContractModel.Attributes(property, "Parameter").Select(a => new ParameterSetBinding(
                ContractModel.Named(a, "ParameterSetName") as string ?? "__AllParameterSets",
                ContractModel.Named(a, "Position") as int? ?? int.MinValue,
                ContractModel.Named(a, "Mandatory") as bool? ?? false,
                ContractModel.Named(a, "ValueFromPipeline") as bool? ?? false,
                ContractModel.Named(a, "ValueFromPipelineByPropertyName") as bool? ?? false)).ToList();
            Aliases = ContractModel.Attributes(property, "Alias")
                .SelectMany(a => a.ConstructorArguments)
                .SelectMany(arg => arg.Value is IEnumerable<CustomAttributeTypedArgument> many ? many.Select(x => (string)x.Value!) : new[] { (string)arg.Value! })
                .ToList();
            SupportsWildcards = ContractModel.Attributes(property, "SupportsWildcards").Any();
            Completer = ContractModel.Attributes(property, "ArgumentCompleter").Select(a => a.ConstructorArguments[0].Value as Type).FirstOrDefault();
            ValidateSet = ContractModel.Attributes(property, "ValidateSet")
                .SelectMany(a => a.ConstructorArguments)
                .SelectMany(arg => arg.Value is IEnumerable<CustomAttributeTypedArgument> many ? many.Select(x => (string)x.Value!) : new[] { (string)arg.Value! })
                .ToList();
        }

        public PropertyInfo Property { get; }
        public string Name => Property.Name;
        public Type ParameterType => Property.PropertyType;
        public IReadOnlyList<ParameterSetBinding> Sets { get; }
        public IReadOnlyList<string> Aliases { get; }
        public bool SupportsWildcards { get; }
        public Type? Completer { get; }
        public IReadOnlyList<string> ValidateSet { get; }
        public override string ToString() => Name;
    }

    internal sealed record ParameterSetBinding(string Set, int Position, bool Mandatory, bool ValueFromPipeline, bool ValueFromPipelineByPropertyName);

    /// <summary>The source manifest, read as text (no PowerShell here): simple `Key = 'value'` and `Key = @(...)` entries.</summary>
    internal sealed class ManifestText
    {
        public ManifestText(string path)
        {
            Path = path;
            // Comments are not part of the data.
            Text = string.Join("\n", File.ReadAllLines(path).Select(l => Regex.Replace(l, @"^\s*#.*$", "")));
        }

        public string Path { get; }
        public string Text { get; }

        public string? Scalar(string key)
        {
            var m = Regex.Match(Text, @"(?m)^\s*" + Regex.Escape(key) + @"\s*=\s*'([^']*)'");
            return m.Success ? m.Groups[1].Value : null;
        }

        /// <summary>The quoted items of `Key = @( ... )`, or null when the key is not an array.</summary>
        public IReadOnlyList<string>? Array(string key)
        {
            var m = Regex.Match(Text, @"(?ms)^\s*" + Regex.Escape(key) + @"\s*=\s*@\((.*?)\)");
            if (!m.Success) return null;
            return Regex.Matches(m.Groups[1].Value, "'([^']*)'").Select(x => x.Groups[1].Value).ToList();
        }
    }
}
