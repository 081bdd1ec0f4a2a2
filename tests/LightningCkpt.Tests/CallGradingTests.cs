using System;
using System.IO;
using System.Linq;
using LightningCkpt.Pickle;
using LightningCkpt.Safety;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// The grading rules on their own: names resolved as Python's find_class does, calls told from mere names, calls
    /// through functions that call their arguments (those torch does not run during torch.load itself — hooks, a
    /// defaultdict's factory, a wrapper subclass's class — are counted conservatively and tested here on the grade alone),
    /// and torch 2.x's allow-list with its conditional globals (issue 18 item 5).
    /// </summary>
    public class CallGradingTests
    {
        private static readonly byte[] Storage = new byte[8];

        private static PickleBuilder Tensor(PickleBuilder p, Action<PickleBuilder>? hooks = null)
        {
            p.Global("torch._utils", "_rebuild_tensor_v2").Op('(')
                .Op('(').Str("storage").Global("torch", "FloatStorage").Str("0").Str("cpu").Int(2).Op('t').Op('Q')
                .Int(0).Int(2).Op(0x85).Int(1).Op(0x85).Op(0x89);
            OrderedDict(p, hooks);
            return p.Op('t').Op('R');
        }

        private static void OrderedDict(PickleBuilder p, Action<PickleBuilder>? items)
        {
            p.Global("collections", "OrderedDict").Op(')').Op('R');
            if (items != null) { p.Int(0); items(p); p.Op('s'); }
        }

        private static Checkpoint Open(byte[] pickle, string name)
        {
            var dir = Path.Combine(Path.GetTempPath(), $"lightningckpt-callgrading-{Environment.ProcessId}");
            Directory.CreateDirectory(dir);
            var path = Path.Combine(dir, name + ".pt");
            File.WriteAllBytes(path, FuzzZip.Checkpoint(pickle, ("0", Storage)));
            return Checkpoint.Open(path);
        }

        private static GlobalGrade GradeOf(Checkpoint c, string global) => c.GradeOf(c.Globals.Single(g => g.FullName == global));

        [Fact]
        public void BackwardHooksAreCalls()
        {
            // _rebuild_parameter_with_state(tensor, False, OrderedDict({0: gzip.open}), {}): autograd calls each hook
            var p = new PickleBuilder().Proto(2).Global("torch._utils", "_rebuild_parameter_with_state").Op('(');
            Tensor(p).Op(0x89);
            OrderedDict(p, b => b.Global("gzip", "open"));
            p.Op('}').Op('t').Op('R').Op('.');
            var c = Open(p.ToArray(), "hooks_with_state");
            Assert.Equal(GlobalGrade.Suspicious, GradeOf(c, "gzip.open"));

            // the same hook on a plain tensor (_rebuild_tensor_v2's backward_hooks)
            var t = Open(Tensor(new PickleBuilder().Proto(2), b => b.Global("gzip", "open")).Op('.').ToArray(), "hooks_on_tensor");
            Assert.Equal(GlobalGrade.Suspicious, GradeOf(t, "gzip.open"));

            // the hooks genuine files carry: an empty OrderedDict, nothing called
            var plain = Open(Tensor(new PickleBuilder().Proto(2)).Op('.').ToArray(), "no_hooks");
            Assert.True(CheckpointValidator.Test(plain.FilePath).IsSafe);
        }

        [Fact]
        public void DefaultFactoryAndWrapperSubclassAreCalls()
        {
            var dd = Open(new PickleBuilder().Proto(2).Global("collections", "defaultdict").Global("gzip", "open").Op(0x85).Op('R').Op('.').ToArray(), "defaultdict");
            Assert.Equal(GlobalGrade.Suspicious, GradeOf(dd, "gzip.open"));
            Assert.Equal(GlobalGrade.Unknown, GradeOf(dd, "collections.defaultdict"));
            var ws = Open(new PickleBuilder().Proto(2).Global("torch._utils", "_rebuild_wrapper_subclass").Op('(')
                .Global("mylib", "Sub").Global("torch", "float32").Int(2).Op(0x85).Int(1).Op(0x85).Int(0).Global("torch", "strided").Str("cpu").Op(0x89)
                .Op('t').Op('R').Op('.').ToArray(), "wrapper_subclass");
            Assert.Equal(GlobalGrade.Suspicious, GradeOf(ws, "mylib.Sub"));
            Assert.False(CheckpointValidator.Test(ws.FilePath).IsSafe);
        }

        [Fact]
        public void NamedOrInstantiatedClassesStayUnknown()
        {
            // {'a': mylib.Thing (a value), 'b': NEWOBJ(mylib.Other) — __new__ without __init__}
            var p = new PickleBuilder().Proto(2).Op('}')
                .Str("a").Global("mylib", "Thing").Op('s')
                .Str("b").Global("mylib", "Other").Op(')').Op(0x81).Op('s').Op('.');
            var c = Open(p.ToArray(), "named");
            Assert.Equal(GlobalGrade.Unknown, GradeOf(c, "mylib.Thing"));
            Assert.Equal(GlobalGrade.Unknown, GradeOf(c, "mylib.Other"));
            var r = CheckpointValidator.Test(c.FilePath);
            Assert.True(r.IsSafe, string.Join("; ", r.Findings));
            // the same class called is Suspicious, with the reason
            var called = Open(new PickleBuilder().Proto(2).Global("mylib", "Other").Int(1).Int(2).Op(0x86).Op('R').Op('.').ToArray(), "called");
            Assert.Equal(GlobalGrade.Suspicious, GradeOf(called, "mylib.Other"));
            Assert.Contains(CheckpointValidator.Test(called.FilePath).Findings, f => f.Kind == "SuspiciousCall" && f.Severity == FindingSeverity.Suspicious && f.Message.Contains("mylib.Other"));
        }

        [Theory]
        [InlineData("cStringIO", "open", 2, "io.open")]
        [InlineData("cStringIO", "open", 3, "cStringIO.open")]
        [InlineData("__builtin__", "xrange", 2, "builtins.range")]
        [InlineData("commands", "getoutput", 0, "subprocess.getoutput")]
        [InlineData("torch.tensor", "_rebuild_from_type_v2", 4, "torch._tensor._rebuild_from_type_v2")]
        [InlineData("pathlib", "os.system", 4, "pathlib.os.system")]
        public void NamesAreFoundAsPythonsUnpicklerFindsThem(string module, string name, int protocol, string expected) =>
            Assert.Equal(expected, FindClassPath.Of(module, name, protocol).FullName);

        [Theory]
        [InlineData("torch.storage", "UntypedStorage", GlobalGrade.Allowed)]
        [InlineData("torch._utils", "_rebuild_nested_tensor", GlobalGrade.Allowed)]
        [InlineData("torch._dynamo.decorators", "_DimRange", GlobalGrade.Allowed)]
        [InlineData("torch.nested._internal.nested_tensor", "_rebuild_njt", GlobalGrade.Allowed)]
        [InlineData("torch.distributed.tensor", "DTensor", GlobalGrade.Allowed)]
        [InlineData("torch._dynamo", "optimize", GlobalGrade.Dangerous)]
        [InlineData("pathlib", "os.system", GlobalGrade.Dangerous)]
        [InlineData("torch.utils.collect_env", "run", GlobalGrade.Dangerous)]
        [InlineData("numpy", "savetxt", GlobalGrade.Dangerous)]
        [InlineData("cProfile", "runctx", GlobalGrade.Dangerous)]
        [InlineData("torch.fx.graph_module", "reduce_graph_module", GlobalGrade.Dangerous)]
        [InlineData("logging", "FileHandler", GlobalGrade.Dangerous)]
        [InlineData("sqlite3", "connect", GlobalGrade.Dangerous)]
        [InlineData("pathlib", "Path.touch", GlobalGrade.Dangerous)]
        public void TorchTwoAllowListAndDenyList(string module, string name, GlobalGrade grade) => Assert.Equal(grade, GlobalGrades.Grade(module, name));

        [Fact]
        public void RefusalNamesTheTorchVersionsAndTheImportTheyNeed()
        {
            static PyGlobal G(string full) => new PyGlobal(full.Substring(0, full.LastIndexOf('.')), full.Substring(full.LastIndexOf('.') + 1));
            Assert.Null(GlobalGrades.WeightsOnlyRefusal(new[] { G("torch._utils._rebuild_tensor_v2"), G("collections.OrderedDict") }));
            Assert.Equal($"torch.load(weights_only=True) refuses it in torch {SafetyTables.OldTorch}; torch {SafetyTables.NewTorch} accepts it",
                GlobalGrades.WeightsOnlyRefusal(new[] { G("torch._utils._rebuild_tensor_v3") }));
            Assert.Contains("accepts it only after `import torch.distributed.tensor`", GlobalGrades.WeightsOnlyRefusal(new[] { G("torch.distributed.tensor.DTensor") }));
            Assert.Contains("refuses it too", GlobalGrades.WeightsOnlyRefusal(new[] { G("omegaconf.dictconfig.DictConfig") }));
        }

        /// <summary>
        /// A jagged NestedTensor torch 2.x saves: safe (not Dangerous through torch._dynamo.decorators._DimRange), and the
        /// finding's claim — torch 1.13 refuses it, torch 2.x only after `import torch._dynamo` — is what torch 2.x does.
        /// </summary>
        [SkippableFact]
        public void GenuineJaggedNestedTensorIsSafeAndItsRefusalIsTrue()
        {
            var oracle = TorchOracle.Torch2;
            Skip.IfNot(oracle.Available, oracle.SkipReason);
            var file = Path.Combine(Path.GetTempPath(), $"lightningckpt-njt-{Environment.ProcessId}-{Guid.NewGuid():N}.pt");
            try
            {
                Assert.Equal(0, oracle.Run("-", out var made, stdin:
                    "import torch\nnt = torch.nested.nested_tensor([torch.arange(3.), torch.arange(5.)], layout=torch.jagged)\n" +
                    $"torch.save({{'njt': nt, 'w': torch.ones(2)}}, '{file}')\n"));
                var r = CheckpointValidator.Test(file);
                Assert.True(r.IsValid && r.IsSafe, string.Join("; ", r.Findings));
                Assert.DoesNotContain(r.Findings, f => f.Severity >= FindingSeverity.Suspicious);
                var refusal = Assert.Single(r.Findings, f => f.Kind == "WeightsOnlyRefused");
                Assert.Contains($"torch {SafetyTables.NewTorch} accepts this file only after `import torch._dynamo`", refusal.Message);

                Assert.Equal(0, oracle.Run("-", out var loaded, stdin:
                    "import torch\ntry:\n    torch.load('" + file + "')\n    print('accepted')\nexcept Exception:\n    print('refused')\n" +
                    "import torch._dynamo\ntorch.load('" + file + "')\nprint('accepted after import')\n"));
                Assert.Equal("refused\naccepted after import", loaded.Trim());
            }
            finally { File.Delete(file); }
        }
    }
}
