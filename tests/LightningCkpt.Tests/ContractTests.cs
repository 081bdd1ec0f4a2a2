using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// The module's public contract, checked without PowerShell: cmdlet names and bindings from the built assembly's
    /// metadata, and their agreement with the manifest, the format file and the MAML help.
    /// </summary>
    public class ContractTests
    {
        private static ContractModel Model => ContractModel.Instance.Value;

        private static readonly string[] ExpectedCmdlets =
        {
            "Compare-Ckpt", "Export-Ckpt", "Get-CkptInfo", "Get-CkptTensor", "Import-Ckpt", "Merge-CkptWeights", "Select-CkptWeights", "Test-Ckpt",
        };

        /// <summary>The approved verbs this module uses (Get-Verb: Common Get/Select, Data Compare/Merge/Import/Export, Diagnostic Test).</summary>
        private static readonly string[] ApprovedVerbs = { "Get", "Select", "Compare", "Merge", "Import", "Export", "Test" };

        private static readonly string[] PathCmdlets = { "Get-CkptInfo", "Get-CkptTensor", "Import-Ckpt", "Select-CkptWeights", "Merge-CkptWeights", "Test-Ckpt" };
        private static readonly string[] InputObjectCmdlets = { "Get-CkptTensor", "Select-CkptWeights", "Merge-CkptWeights", "Test-Ckpt" };
        private static readonly string[] WritingCmdlets = { "Select-CkptWeights", "Merge-CkptWeights", "Export-Ckpt" };

        public static IEnumerable<object[]> CmdletNames() => ExpectedCmdlets.Select(n => new object[] { n });
        public static IEnumerable<object[]> PathCmdletNames() => PathCmdlets.Select(n => new object[] { n });

        private static CmdletInfo Cmdlet(string name) =>
            Model.Cmdlets.SingleOrDefault(c => c.Name == name) ?? throw new Xunit.Sdk.XunitException("no cmdlet " + name + " in the module");

        [Fact]
        public void The_module_defines_exactly_the_eight_cmdlets()
        {
            Assert.Equal(ExpectedCmdlets, Model.Cmdlets.Select(c => c.Name).ToArray());
        }

        [Theory]
        [MemberData(nameof(CmdletNames))]
        public void Cmdlet_names_use_an_approved_verb_a_Ckpt_noun_and_the_class_convention(string name)
        {
            var c = Cmdlet(name);
            Assert.Contains(c.Verb, ApprovedVerbs);
            Assert.StartsWith("Ckpt", c.Noun, StringComparison.Ordinal);
            Assert.Equal("LightningCkpt.Commands", c.Type.Namespace);
            Assert.Equal(c.Verb + c.Noun + "Command", c.Type.Name);
            Assert.True(c.Type.IsSealed && c.Type.IsPublic, name + " must be a public sealed class");
            Assert.Equal("System.Management.Automation.PSCmdlet", BaseChain(c.Type).FirstOrDefault(t => t.Namespace == "System.Management.Automation")?.FullName);
        }

        private static IEnumerable<Type> BaseChain(Type t)
        {
            for (var b = t.BaseType; b != null; b = b.BaseType) yield return b;
        }

        [Theory]
        [MemberData(nameof(CmdletNames))]
        public void Every_cmdlet_declares_public_output_types(string name)
        {
            var c = Cmdlet(name);
            Assert.NotEmpty(c.OutputTypes);
            foreach (var t in c.OutputTypes)
                Assert.True(t.IsPublic, $"{name} declares the non-public output type {t.FullName}");
        }

        [Fact]
        public void Output_types_are_the_Core_types_the_issues_name()
        {
            Assert.Equal(new[] { "LightningCkpt.CkptInfo" }, Cmdlet("Get-CkptInfo").OutputTypes.Select(t => t.FullName));
            Assert.Equal(new[] { "LightningCkpt.CkptTensor", "LightningCkpt.CkptModule" }, Cmdlet("Get-CkptTensor").OutputTypes.Select(t => t.FullName)); // CkptModule with -ByModule
            Assert.Equal(new[] { "LightningCkpt.CkptDiff" }, Cmdlet("Compare-Ckpt").OutputTypes.Select(t => t.FullName));
            Assert.Equal(new[] { "LightningCkpt.CkptTestResult", "System.Boolean" }, Cmdlet("Test-Ckpt").OutputTypes.Select(t => t.FullName));
            Assert.Contains("System.IO.FileInfo", Cmdlet("Merge-CkptWeights").OutputTypes.Select(t => t.FullName));
            Assert.Contains("System.IO.FileInfo", Cmdlet("Select-CkptWeights").OutputTypes.Select(t => t.FullName));
        }

        [Theory]
        [MemberData(nameof(PathCmdletNames))]
        public void Path_and_LiteralPath_are_bound_exactly_as_Get_FileHash_binds_them(string name)
        {
            var c = Cmdlet(name);
            Assert.Equal("Path", c.DefaultParameterSet);

            var path = c.Parameter("Path")!;
            Assert.NotNull(path);
            Assert.Equal(typeof(string[]).FullName, path.ParameterType.FullName);
            Assert.True(path.SupportsWildcards, "-Path must declare [SupportsWildcards]");
            Assert.Empty(path.Aliases);
            Assert.Equal(new[] { new ParameterSetBinding("Path", 0, true, true, true) }, path.Sets);

            var literal = c.Parameter("LiteralPath")!;
            Assert.NotNull(literal);
            Assert.Equal(typeof(string[]).FullName, literal.ParameterType.FullName);
            Assert.False(literal.SupportsWildcards);
            Assert.Equal(new[] { "PSPath", "LP" }, literal.Aliases);
            Assert.Equal(new[] { new ParameterSetBinding("LiteralPath", int.MinValue, true, false, true) }, literal.Sets);
        }

        [Fact]
        public void Cmdlets_that_take_Get_CkptInfo_output_have_a_typed_InputObject_set()
        {
            foreach (var c in Model.Cmdlets)
            {
                var p = c.Parameter("InputObject");
                if (c.Name == "Export-Ckpt") continue; // takes any object graph; checked below
                if (!InputObjectCmdlets.Contains(c.Name))
                {
                    Assert.Null(p);
                    continue;
                }
                Assert.NotNull(p);
                Assert.Equal("LightningCkpt.CkptInfo", p!.ParameterType.FullName);
                Assert.Equal(new[] { new ParameterSetBinding("InputObject", int.MinValue, true, true, false) }, p.Sets);
            }
        }

        [Fact]
        public void Export_Ckpt_takes_one_object_graph_of_any_type_from_the_pipeline()
        {
            var p = Cmdlet("Export-Ckpt").Parameter("InputObject")!;
            Assert.Equal("System.Object", p.ParameterType.FullName);
            Assert.Equal(new[] { new ParameterSetBinding("__AllParameterSets", int.MinValue, true, true, false) }, p.Sets);
            Assert.True(Cmdlet("Export-Ckpt").Parameter("OutFile")!.Sets.All(s => s.Mandatory));
            Assert.Equal(new[] { "System.IO.FileInfo" }, Cmdlet("Export-Ckpt").OutputTypes.Select(t => t.FullName));
            Assert.Contains("LightningCkpt.Pickle.PyDict", Cmdlet("Import-Ckpt").OutputTypes.Select(t => t.FullName));
        }

        [Fact]
        public void No_parameter_other_than_Path_and_DifferencePath_takes_strings_from_the_pipeline()
        {
            foreach (var c in Model.Cmdlets)
                foreach (var p in c.Parameters)
                {
                    if (p.Name is "Path" or "LiteralPath" or "InputObject" or "DifferencePath") continue;
                    // URLs pipe in from objects with a Uri (or Url) property, e.g. a list of presigned URLs; strings by value go to -Path
                    if (p.Name == "Uri" && p.Sets.All(s => s.Set == "Uri" && !s.ValueFromPipeline)) continue;
                    // tensors piped back in are objects, not strings: read from the file version they came from
                    if (c.Name == "Get-CkptTensor" && p.Name == "Tensor" && p.ParameterType.FullName == "LightningCkpt.CkptTensor[]") continue;
                    Assert.All(p.Sets, s => Assert.False(s.ValueFromPipeline || s.ValueFromPipelineByPropertyName, $"{c.Name} -{p.Name} binds from the pipeline"));
                }
        }

        [Fact]
        public void Compare_Ckpt_binds_reference_and_difference_like_Compare_Object()
        {
            var c = Cmdlet("Compare-Ckpt");
            var reference = c.Parameter("ReferencePath")!;
            Assert.Equal("System.String", reference.ParameterType.FullName);
            Assert.Equal(new[] { new ParameterSetBinding("__AllParameterSets", 0, true, false, false) }, reference.Sets);

            var difference = c.Parameter("DifferencePath")!;
            Assert.Equal(typeof(string[]).FullName, difference.ParameterType.FullName);
            Assert.Equal(new[] { new ParameterSetBinding("__AllParameterSets", 1, true, true, true) }, difference.Sets);
            Assert.Contains("PSPath", difference.Aliases);

            foreach (var name in new[] { "AbsoluteTolerance", "RelativeTolerance", "IncludeEqual", "All", "Name" })
                Assert.NotNull(c.Parameter(name));
            Assert.Equal("System.Double", c.Parameter("AbsoluteTolerance")!.ParameterType.FullName);
        }

        [Fact]
        public void Only_the_writing_cmdlets_support_ShouldProcess_and_they_have_OutFile_Force_and_PassThru()
        {
            foreach (var c in Model.Cmdlets)
            {
                bool writes = WritingCmdlets.Contains(c.Name);
                Assert.True(writes == c.SupportsShouldProcess, $"{c.Name}: SupportsShouldProcess should be {writes}");
                if (!writes) continue;
                Assert.Equal("System.String", c.Parameter("OutFile")?.ParameterType.FullName);
                Assert.Equal("System.Management.Automation.SwitchParameter", c.Parameter("Force")?.ParameterType.FullName);
                Assert.Equal("System.Management.Automation.SwitchParameter", c.Parameter("PassThru")?.ParameterType.FullName);
            }
            Assert.True(Cmdlet("Merge-CkptWeights").Parameter("OutFile")!.Sets.All(s => s.Mandatory));
            Assert.True(Cmdlet("Select-CkptWeights").Parameter("OutFile")!.Sets.All(s => !s.Mandatory));
        }

        [Fact]
        public void Select_CkptWeights_offers_exactly_the_three_cast_targets_and_they_are_Core_dtypes()
        {
            var dtype = Cmdlet("Select-CkptWeights").Parameter("DType")!;
            Assert.Equal(new[] { "float16", "bfloat16", "float32" }, dtype.ValidateSet);
            foreach (var name in dtype.ValidateSet)
                Assert.NotNull(LightningCkpt.Torch.DType.FromName(name));
        }

        [Fact]
        public void Tensor_name_parameters_take_wildcards_and_complete_from_the_file()
        {
            var expected = new[] { ("Get-CkptTensor", "Name"), ("Compare-Ckpt", "Name"), ("Select-CkptWeights", "Include"), ("Select-CkptWeights", "Exclude") };
            foreach (var (cmdlet, parameter) in expected)
            {
                var p = Cmdlet(cmdlet).Parameter(parameter)!;
                Assert.True(p.SupportsWildcards, $"{cmdlet} -{parameter} must declare [SupportsWildcards]");
                Assert.Equal("LightningCkpt.Commands.Completers.TensorNameCompleter", p.Completer?.FullName);
            }
            var completer = Model.Module.GetType("LightningCkpt.Commands.Completers.TensorNameCompleter")!;
            Assert.Contains(completer.GetInterfaces(), i => i.FullName == "System.Management.Automation.IArgumentCompleter");
            Assert.True(completer.IsSealed);
        }

        [Fact]
        public void Parameters_have_unique_names_and_aliases_per_cmdlet()
        {
            foreach (var c in Model.Cmdlets)
            {
                var all = c.Parameters.Select(p => p.Name).Concat(c.Parameters.SelectMany(p => p.Aliases)).ToList();
                Assert.Equal(all.Count, all.Distinct(StringComparer.OrdinalIgnoreCase).Count());
            }
        }

        // ---- manifest ----------------------------------------------------------------------------------------

        private static ManifestText Manifest => new ManifestText(Path.Combine(RepoPaths.Root, "LightningCkpt.psd1"));

        [Fact]
        public void The_manifest_exports_the_cmdlets_and_nothing_else()
        {
            var m = Manifest;
            Assert.Equal(ExpectedCmdlets, m.Array("CmdletsToExport")!.OrderBy(n => n, StringComparer.Ordinal).ToArray());
            Assert.Empty(m.Array("FunctionsToExport")!);
            Assert.Empty(m.Array("AliasesToExport")!);
            Assert.Empty(m.Array("VariablesToExport")!);
            Assert.DoesNotContain("*", m.Text);
        }

        [Fact]
        public void The_manifest_loads_the_dll_on_both_editions_with_the_documented_floors()
        {
            var m = Manifest;
            Assert.Equal("LightningCkpt.dll", m.Scalar("RootModule"));
            Assert.Matches(@"^\d+\.\d+\.\d+$", m.Scalar("ModuleVersion"));
            Assert.True(Guid.TryParse(m.Scalar("GUID"), out var guid) && guid != Guid.Empty);
            Assert.Equal("1265c1af-c8fb-417e-9e4f-150a2f86c0e9", m.Scalar("GUID"));
            Assert.Equal("5.1", m.Scalar("PowerShellVersion"));
            Assert.Equal("4.7.2", m.Scalar("DotNetFrameworkVersion"));
            Assert.Equal(new[] { "Desktop", "Core" }, m.Array("CompatiblePSEditions"));
            Assert.Equal(new[] { "LightningCkpt.format.ps1xml" }, m.Array("FormatsToProcess"));
            Assert.True(File.Exists(Path.Combine(RepoPaths.Root, "LightningCkpt.format.ps1xml")));
            Assert.DoesNotContain("NestedModules", m.Text);
            // tags claim only what the suite runs on (pwsh 7 on Linux); no URIs until the project has a public home
            Assert.Equal(new[] { "PyTorch", "Lightning", "Checkpoint", "safetensors", "PSEdition_Core", "Linux" }, m.Array("Tags"));
            Assert.Null(m.Scalar("ProjectUri"));
            Assert.Null(m.Scalar("LicenseUri"));
        }

        [Fact]
        public void The_module_version_is_the_assembly_version()
        {
            var version = Version.Parse(Manifest.Scalar("ModuleVersion")!);
            var assembly = Model.Module.GetName().Version!;
            Assert.Equal((version.Major, version.Minor, version.Build), (assembly.Major, assembly.Minor, assembly.Build));
        }

        // ---- build output ------------------------------------------------------------------------------------

        [Fact]
        public void The_PowerShell_reference_assembly_never_reaches_the_module_output()
        {
            Assert.True(File.Exists(Path.Combine(Model.ModuleOutput, "LightningCkpt.dll")));
            Assert.True(File.Exists(Path.Combine(Model.ModuleOutput, "LightningCkpt.Core.dll")));
            Assert.Empty(Directory.GetFiles(Model.ModuleOutput, "System.Management.Automation.dll", SearchOption.AllDirectories));
            var csproj = File.ReadAllText(Path.Combine(RepoPaths.Root, "src", "LightningCkpt", "LightningCkpt.csproj"));
            Assert.Matches(@"<PackageReference\s+Include=""PowerShellStandard.Library""\s+Version=""5.1.1""\s+PrivateAssets=""all""\s*/>", csproj);
        }

        [Fact]
        public void The_module_references_only_the_framework_PowerShell_and_Core()
        {
            var refs = Model.Module.GetReferencedAssemblies().Select(a => a.Name!).ToList();
            Assert.Contains("System.Management.Automation", refs);
            Assert.Contains("LightningCkpt.Core", refs);
            Assert.All(refs, r => Assert.True(r is "netstandard" or "System.Management.Automation" or "LightningCkpt.Core", "unexpected reference " + r));
            Assert.DoesNotContain(Model.Core.GetReferencedAssemblies(), a => a.Name == "System.Management.Automation");
        }

        // ---- format file -------------------------------------------------------------------------------------

        private static XDocument Format => XDocument.Load(Path.Combine(RepoPaths.Root, "LightningCkpt.format.ps1xml"));

        [Fact]
        public void Every_output_type_has_a_default_table_view()
        {
            var viewed = Format.Descendants("View").SelectMany(v => v.Element("ViewSelectedBy")!.Elements("TypeName").Select(t => (string)t)).ToHashSet();
            foreach (var t in new[] { "LightningCkpt.CkptInfo", "LightningCkpt.CkptTensor", "LightningCkpt.CkptDiff", "LightningCkpt.CkptTestResult", "LightningCkpt.CkptFinding" })
                Assert.Contains(t, viewed);
            // Import-Ckpt's dicts and lists are formatted as PowerShell formats hashtables and lists (entry by entry)
            var containers = new[] { "LightningCkpt.Pickle.PyDict", "LightningCkpt.Pickle.PyList" };
            foreach (var t in Model.Cmdlets.SelectMany(c => c.OutputTypes).Where(t => t.Assembly == Model.Core && !containers.Contains(t.FullName)))
                Assert.Contains(t.FullName!, viewed);
        }

        /// <summary>The Core type a view's type name selects: "LightningCkpt.CkptTensor#Statistics" is a tagged CkptTensor.</summary>
        private static Type? ViewedType(string typeName) => Model.CoreType(typeName.Split('#')[0]);

        [Fact]
        public void Every_view_names_a_real_public_type_and_only_its_public_properties()
        {
            var views = Format.Descendants("View").ToList();
            Assert.NotEmpty(views);
            foreach (var view in views)
            {
                foreach (var typeName in view.Element("ViewSelectedBy")!.Elements("TypeName").Select(t => (string)t))
                {
                    var type = ViewedType(typeName);
                    Assert.True(type is { IsPublic: true }, $"view {(string)view.Element("Name")!}: {typeName} is not a public Core type");
                    var props = type!.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetMethod?.IsPublic == true).Select(p => p.Name).ToHashSet();

                    var list = view.Element("ListControl");
                    if (list != null)
                    {
                        // a list view's labels are properties too, and a script row only formats its own property;
                        // a row's condition may read any property
                        foreach (var row in list.Descendants("ListItem"))
                        {
                            var rowLabel = (string?)row.Element("Label");
                            Assert.True(rowLabel != null && props.Contains(rowLabel), $"{typeName}: list label '{rowLabel}' is not a public property");
                            var rowProperty = (string?)row.Element("PropertyName");
                            var rowScript = (string?)row.Element("ScriptBlock");
                            Assert.True(rowProperty != null ^ rowScript != null, "a list row needs exactly one of PropertyName and ScriptBlock");
                            if (rowProperty != null) Assert.Equal(rowLabel, rowProperty);
                            if (rowScript != null) Assert.Equal(new[] { rowLabel }, Regex.Matches(rowScript, @"\$_\.(\w+)").Select(m => m.Groups[1].Value).Distinct().ToList());
                            foreach (var condition in row.Descendants("ItemSelectionCondition").Select(c => (string)c.Element("ScriptBlock")!))
                                foreach (Match m in Regex.Matches(condition, @"\$_\.(\w+)"))
                                    Assert.True(props.Contains(m.Groups[1].Value), $"{typeName}: condition '{condition}' reads no public property");
                        }
                        continue;
                    }
                    var table = view.Element("TableControl")!;
                    var headers = table.Element("TableHeaders")!.Elements("TableColumnHeader").ToList();
                    var items = table.Descendants("TableColumnItems").Single().Elements("TableColumnItem").ToList();
                    Assert.Equal(headers.Count, items.Count);
                    for (int i = 0; i < items.Count; i++)
                    {
                        // the label is a property, so Sort-Object/Select-Object take what the column shows
                        var label = (string?)headers[i].Element("Label");
                        Assert.True(label != null && props.Contains(label), $"{typeName}: column label '{label}' is not a public property");
                        var property = (string?)items[i].Element("PropertyName");
                        var script = (string?)items[i].Element("ScriptBlock");
                        Assert.True(property != null ^ script != null, "a column needs exactly one of PropertyName and ScriptBlock");
                        if (property != null) Assert.Equal(label, property);
                        if (script != null)
                        {
                            // a script column only formats its own property
                            var used = Regex.Matches(script, @"\$_\.(\w+)").Select(m => m.Groups[1].Value).Distinct().ToList();
                            Assert.Equal(new[] { label }, used);
                        }
                    }
                    foreach (var group in view.Elements("GroupBy"))
                        Assert.True(props.Contains((string)group.Element("PropertyName")!), $"{typeName}: GroupBy names no public property");
                }
            }
        }

        [Fact]
        public void The_default_views_put_long_names_last_in_wrapping_rows()
        {
            foreach (var view in Format.Descendants("View").Where(v => v.Element("TableControl") != null))
            {
                var labels = view.Descendants("TableColumnHeader").Select(h => (string)h.Element("Label")!).ToArray();
                if (labels.Contains("Name")) Assert.Equal("Name", labels.Last());
                Assert.NotNull(view.Descendants("TableRowEntry").Single().Element("Wrap"));
            }
        }

        [Fact]
        public void The_CkptInfo_view_shows_the_agreed_columns()
        {
            var view = Format.Descendants("View").First(v => (string)v.Element("ViewSelectedBy")!.Element("TypeName")! == "LightningCkpt.CkptInfo");
            var labels = view.Descendants("TableColumnHeader").Select(h => (string)h.Element("Label")!).ToArray();
            Assert.Equal(new[] { "RunName", "Epoch", "GlobalStep", "CurrentScore", "Length", "IsSafe", "Name" }, labels);
        }

        [Fact]
        public void Get_CkptTensor_tags_its_output_with_views_that_exist()
        {
            var names = Format.Descendants("TypeName").Select(t => (string)t).ToHashSet();
            var command = Model.Module.GetType("LightningCkpt.Commands.GetCkptTensorCommand")!;
            foreach (var field in new[] { "StatisticsView", "HashView" })
                Assert.Contains((string)command.GetField(field, BindingFlags.NonPublic | BindingFlags.Static)!.GetRawConstantValue()!, names);
        }

        // ---- help --------------------------------------------------------------------------------------------

        private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
        private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
        private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

        private static XDocument Help => XDocument.Load(Path.Combine(RepoPaths.Root, "en-US", "LightningCkpt.dll-Help.xml"));

        private static XElement HelpFor(XDocument help, string name) =>
            help.Root!.Elements(Command + "command").SingleOrDefault(c => (string)c.Element(Command + "details")!.Element(Command + "name")! == name)
            ?? throw new Xunit.Sdk.XunitException("no help for " + name);

        [Fact]
        public void The_help_file_has_exactly_the_cmdlets()
        {
            var names = Help.Root!.Elements(Command + "command").Select(c => (string)c.Element(Command + "details")!.Element(Command + "name")!).OrderBy(n => n, StringComparer.Ordinal);
            Assert.Equal(ExpectedCmdlets, names.ToArray());
        }

        [Theory]
        [MemberData(nameof(CmdletNames))]
        public void Help_has_a_synopsis_a_description_and_at_least_two_examples(string name)
        {
            var h = HelpFor(Help, name);
            var details = h.Element(Command + "details")!;
            Assert.Equal(Cmdlet(name).Verb, (string)details.Element(Command + "verb")!);
            Assert.Equal(Cmdlet(name).Noun, (string)details.Element(Command + "noun")!);
            Assert.False(string.IsNullOrWhiteSpace(details.Element(Maml + "description")?.Value));
            Assert.False(string.IsNullOrWhiteSpace(h.Element(Maml + "description")?.Value));
            var examples = h.Element(Command + "examples")!.Elements(Command + "example").ToList();
            Assert.True(examples.Count >= 2, name + " needs two examples");
            foreach (var e in examples)
            {
                var code = (string)e.Element(Dev + "code")!;
                Assert.Contains(name, code);
                Assert.False(string.IsNullOrWhiteSpace(e.Element(Dev + "remarks")?.Value));
            }
        }

        [Theory]
        [MemberData(nameof(CmdletNames))]
        public void Help_documents_every_parameter_and_no_other_with_the_real_binding(string name)
        {
            var c = Cmdlet(name);
            var h = HelpFor(Help, name);
            var documented = h.Element(Command + "parameters")!.Elements(Command + "parameter").ToDictionary(p => (string)p.Element(Maml + "name")!);
            var expected = c.Parameters.Select(p => p.Name).ToList();
            if (c.SupportsShouldProcess) expected.AddRange(new[] { "WhatIf", "Confirm" });
            Assert.Equal(expected.OrderBy(n => n), documented.Keys.OrderBy(n => n));

            foreach (var p in c.Parameters)
            {
                var doc = documented[p.Name];
                Assert.False(string.IsNullOrWhiteSpace(doc.Element(Maml + "description")?.Value), $"{name} -{p.Name} has no description");
                Assert.Equal(p.Sets.Any(s => s.Mandatory) ? "true" : "false", (string)doc.Attribute("required")!);
                Assert.Equal(p.SupportsWildcards ? "true" : "false", (string)doc.Attribute("globbing")!);
                int position = p.Sets.Select(s => s.Position).Max();
                Assert.Equal(position == int.MinValue ? "named" : position.ToString(), (string)doc.Attribute("position")!);
                var aliases = (string)doc.Attribute("aliases")!;
                Assert.Equal(p.Aliases.Count == 0 ? "none" : string.Join(", ", p.Aliases), aliases);
                bool byValue = p.Sets.Any(s => s.ValueFromPipeline), byName = p.Sets.Any(s => s.ValueFromPipelineByPropertyName);
                var pipeline = (string)doc.Attribute("pipelineInput")!;
                Assert.Equal(byValue || byName, pipeline.StartsWith("True", StringComparison.Ordinal));
                Assert.Equal(byValue, pipeline.Contains("ByValue"));
                Assert.Equal(byName, pipeline.Contains("ByPropertyName"));
            }

            // Every parameter appears in at least one syntax block, and each block belongs to a real parameter set.
            var syntax = h.Element(Command + "syntax")!.Elements(Command + "syntaxItem").ToList();
            Assert.NotEmpty(syntax);
            var inSyntax = syntax.SelectMany(s => s.Elements(Command + "parameter").Select(p => (string)p.Element(Maml + "name")!)).ToHashSet();
            Assert.All(expected, p => Assert.Contains(p, inSyntax));
            int sets = c.Parameters.SelectMany(p => p.Sets).Select(s => s.Set).Where(s => s != "__AllParameterSets").Distinct().Count();
            Assert.Equal(Math.Max(1, sets), syntax.Count);
        }

        [Fact]
        public void The_about_topic_exists_and_names_every_cmdlet_and_error_id()
        {
            var about = File.ReadAllText(Path.Combine(RepoPaths.Root, "en-US", "about_LightningCkpt.help.txt"));
            Assert.StartsWith("TOPIC", about);
            foreach (var name in ExpectedCmdlets) Assert.Contains(name, about);

            // Every ErrorId the cmdlets can write is documented.
            var source = string.Join("\n", Directory.GetFiles(Path.Combine(RepoPaths.Root, "src", "LightningCkpt"), "*.cs", SearchOption.AllDirectories).Select(File.ReadAllText));
            var ids = Regex.Matches(source, @"""([A-Za-z]+)"",\s*(?:writing\s*\?\s*ErrorCategory\.\w+\s*:\s*)?ErrorCategory\.").Select(m => m.Groups[1].Value)
                .Concat(Regex.Matches(source, @"\(""([A-Za-z]+)"",\s*ErrorCategory\.").Select(m => m.Groups[1].Value))
                .Distinct().ToList();
            Assert.Contains("InvalidCheckpoint", ids);
            Assert.Contains("PathNotFileSystem", ids);
            foreach (var id in ids) Assert.Contains(id, about);
        }
    }
}
