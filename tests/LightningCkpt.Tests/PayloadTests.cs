using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using LightningCkpt.Pickle;
using LightningCkpt.Safety;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Pickles that run code under torch.load(weights_only=False) along paths a name-only grading missed (issues 25, 26):
    /// dotted attribute paths, Python 2 names, unknown callables the pickle calls, and calls through torch's own rebuild
    /// functions. Each payload is first loaded by real torch (both oracles) in a scratch folder, and must create its marker
    /// file there — so no test can pass on an inert file — and then must not be graded safe.
    /// </summary>
    public class PayloadTests
    {
        /// <summary>One payload: the pickle for a marker path, its name, and the grade its worst global must get.</summary>
        public sealed class Payload
        {
            public Payload(string name, GlobalGrade grade, string global, Func<string, string, byte[]> pickle)
            {
                Name = name; Grade = grade; Global = global; Pickle = pickle;
            }
            public string Name { get; }
            public GlobalGrade Grade { get; }
            /// <summary>The global (as the file spells it) that must carry the grade.</summary>
            public string Global { get; }
            /// <summary>(marker path, the checkpoint's own path) → pickle bytes.</summary>
            public Func<string, string, byte[]> Pickle { get; }
            public override string ToString() => Name;
        }

        // STACK_GLOBAL, TUPLE1, TUPLE2, TUPLE3, EMPTY_DICT, REDUCE, STOP, MARK, TUPLE
        private const int StackGlobal = 0x93, Tuple1 = 0x85, Tuple2 = 0x86, Tuple3 = 0x87, EmptyDict = '}', Reduce = 'R', Stop = '.', Mark = '(', Tuple = 't';

        private static readonly Payload[] All =
        {
            // find_class('pathlib', 'os.system') from protocol 4 is pathlib.os.system, i.e. os.system
            new Payload("dotted_pathlib_os_system", GlobalGrade.Dangerous, "pathlib.os.system", (marker, _) =>
                new PickleBuilder().Proto(4).Str("pathlib").Str("os.system").Op(StackGlobal).Str("touch '" + marker + "'").Op(Tuple1).Op(Reduce).Op(Stop).ToArray()),
            // torch.utils.collect_env imports subprocess: its attribute path reaches subprocess.getoutput
            new Payload("dotted_collect_env_subprocess", GlobalGrade.Dangerous, "torch.utils.collect_env.subprocess.getoutput", (marker, _) =>
                new PickleBuilder().Proto(4).Str("torch.utils.collect_env").Str("subprocess.getoutput").Op(StackGlobal).Str("touch '" + marker + "'").Op(Tuple1).Op(Reduce).Op(Stop).ToArray()),
            // at protocol 2 (torch.save's default) _compat_pickle maps cStringIO to io: cStringIO.open is io.open
            new Payload("compat_cstringio_open", GlobalGrade.Dangerous, "cStringIO.open", (marker, _) =>
                new PickleBuilder().Proto(2).Global("cStringIO", "open").Str(marker).Str("w").Op(Tuple2).Op(Reduce).Op(Stop).ToArray()),
            // an unknown callable the pickle calls: gzip.open(marker, 'wb') creates the file
            new Payload("called_gzip_open", GlobalGrade.Suspicious, "gzip.open", (marker, _) =>
                new PickleBuilder().Proto(2).Global("gzip", "open").Str(marker).Str("wb").Op(Tuple2).Op(Reduce).Op(Stop).ToArray()),
            // _rebuild_from_type_v2(func, new_type, args, state) runs func(*args): gzip.open is called though never REDUCEd
            new Payload("rebuild_from_type_v2_calls_global", GlobalGrade.Suspicious, "gzip.open", (marker, _) =>
                new PickleBuilder().Proto(2).Global("torch._tensor", "_rebuild_from_type_v2")
                    .Op(Mark).Global("gzip", "open").Global("torch", "Tensor").Str(marker).Str("wb").Op(Tuple2).Op(EmptyDict).Op(Tuple)
                    .Op(Reduce).Op(Stop).ToArray()),
            // … and a getattr result handed to it is called too: getattr(pathlib.Path, 'hardlink_to')(PosixPath(marker), PosixPath(self))
            new Payload("rebuild_from_type_v2_calls_getattr", GlobalGrade.Dangerous, "builtins.getattr", (marker, self) =>
                new PickleBuilder().Proto(2).Global("torch._tensor", "_rebuild_from_type_v2")
                    .Op(Mark)
                    .Global("builtins", "getattr").Global("pathlib", "Path").Str("hardlink_to").Op(Tuple2).Op(Reduce)
                    .Global("torch", "Tensor")
                    .Global("pathlib", "PosixPath").Str(marker).Op(Tuple1).Op(Reduce)
                    .Global("pathlib", "PosixPath").Str(self).Op(Tuple1).Op(Reduce).Op(Tuple2)
                    .Op(EmptyDict).Op(Tuple)
                    .Op(Reduce).Op(Stop).ToArray()),
            // copyreg._reconstructor(cls, base, state) runs base.__init__(obj, state): wave.Wave_write opens state for writing
            new Payload("copyreg_reconstructor_base_init", GlobalGrade.Suspicious, "wave.Wave_write", (marker, _) =>
                new PickleBuilder().Proto(2).Global("copyreg", "_reconstructor")
                    .Global("wave", "Wave_write").Global("wave", "Wave_write").Str(marker).Op(Tuple3).Op(Reduce).Op(Stop).ToArray()),
        };

        public static IEnumerable<object[]> Cases() =>
            from p in All from torch in new[] { "torch1", "torch2" } select new object[] { p.Name, torch };

        /// <summary>
        /// Every payload written once per oracle into its own scratch folder and loaded by one python process (torch
        /// starts once): the payloads whose marker appeared, with what torch printed.
        /// </summary>
        private static readonly Dictionary<string, Lazy<(string Dir, HashSet<string> Ran, string Output)>> Runs =
            new[] { "torch1", "torch2" }.ToDictionary(t => t, t => new Lazy<(string, HashSet<string>, string)>(() => RunAll(TorchOracle.Named(t))));

        private static (string Dir, HashSet<string> Ran, string Output) RunAll(TorchOracle oracle)
        {
            var root = Path.Combine(Path.GetTempPath(), $"lightningckpt-payload-{Environment.ProcessId}-{Guid.NewGuid():N}");
            var script = new System.Text.StringBuilder("import os, torch\n");
            foreach (var p in All)
            {
                var dir = Path.Combine(root, p.Name);
                Directory.CreateDirectory(dir);
                var file = Path.Combine(dir, p.Name + ".pt");
                File.WriteAllBytes(file, FuzzZip.Checkpoint(p.Pickle(Path.Combine(dir, "marker"), file)));
                script.Append($"os.chdir({PyStr(dir)})\ntry:\n    torch.load({PyStr(file)}, weights_only=False)\nexcept Exception as e:\n    print({PyStr(p.Name)}, type(e).__name__, e)\n");
            }
            AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(root, true); } catch (IOException) { } };
            oracle.Run("-", out var output, stdin: script.ToString());
            var ran = new HashSet<string>(All.Where(p => File.Exists(Path.Combine(root, p.Name, "marker"))).Select(p => p.Name));
            foreach (var p in All) File.Delete(Path.Combine(root, p.Name, "marker"));
            return (root, ran, output);
        }

        [SkippableTheory]
        [MemberData(nameof(Cases))]
        public void PayloadThatTorchRunsIsNotSafe(string name, string torch)
        {
            var payload = All.Single(p => p.Name == name);
            var oracle = TorchOracle.Named(torch);
            Skip.IfNot(oracle.Available, oracle.SkipReason);
            var run = Runs[torch].Value;
            // real torch runs it: the marker appeared (torch may fail afterwards, once the payload has run)
            Assert.True(run.Ran.Contains(name), $"{oracle.Label} did not run the payload {name}: {run.Output}");

            var file = Path.Combine(run.Dir, name, name + ".pt");
            var marker = Path.Combine(run.Dir, name, "marker");
            var r = CheckpointValidator.Test(file);
            Assert.False(r.IsSafe, $"{name}: {string.Join("; ", r.Findings)}");
            var c = Checkpoint.Open(file);
            var g = c.Globals.Single(x => x.FullName == payload.Global);
            Assert.Equal(payload.Grade, c.GradeOf(g));
            var kind = payload.Grade == GlobalGrade.Dangerous ? "DangerousGlobal" : "SuspiciousCall";
            Assert.Contains(r.Findings, f => f.Kind == kind && f.Message.Contains(payload.Global));
            Assert.Contains(payload.Global, CkptInfo.From(c).UnsafeGlobals);
            Assert.False(File.Exists(marker), "reading the payload ran it");
        }

        /// <summary>
        /// A DeepSpeed folder whose tag folder also holds a MoE expert optimizer file (expp_rank_*, which DeepSpeed
        /// torch.loads) carrying a payload: the folder is graded by that file too, and a file that cannot be read is named.
        /// </summary>
        [SkippableFact]
        public void EveryFileOfAShardedFolderIsGradedOrNamed()
        {
            var oracle = TorchOracle.Torch1;
            Skip.IfNot(oracle.Available, oracle.SkipReason);
            var run = Runs["torch1"].Value;
            Assert.True(run.Ran.Contains("called_gzip_open"), run.Output);
            var payload = Path.Combine(run.Dir, "called_gzip_open", "called_gzip_open.pt");

            var dir = Path.Combine(Path.GetTempPath(), $"lightningckpt-moe-{Environment.ProcessId}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(dir);
            try
            {
                var folder = ShardedValidationTests.CopyFixture("ds_zero2_bf16_dp2", dir);
                Assert.True(CheckpointValidator.Test(folder).IsSafe);
                var expert = Path.Combine(folder, "checkpoint", "expp_rank_0_mp_rank_00_optim_states.pt");
                File.Copy(payload, expert);
                var r = CheckpointValidator.Test(folder);
                Assert.False(r.IsSafe, string.Join("; ", r.Findings));
                Assert.Contains(r.Findings, f => f.Kind == "SuspiciousCall" && f.Message.Contains("gzip.open"));
                Assert.Contains(r.Findings, f => f.Message.Contains("expp_rank_0_mp_rank_00_optim_states.pt"));
                Assert.Contains(expert, Checkpoint.Open(folder).Files);

                // one it cannot read is named, and the folder is not called safe
                File.WriteAllBytes(expert, new byte[] { 0x80, 0x02, (byte)'c' });
                r = CheckpointValidator.Test(folder);
                Assert.False(r.IsSafe);
                Assert.Contains(r.Findings, f => f.Kind == "UngradedFile" && f.Severity == FindingSeverity.Suspicious && f.Message.Contains("expp_rank_0_mp_rank_00_optim_states.pt"));
            }
            finally { Directory.Delete(dir, true); }
        }

        private static string PyStr(string s) => "'" + s.Replace("\\", "\\\\").Replace("'", "\\'") + "'";
    }
}
