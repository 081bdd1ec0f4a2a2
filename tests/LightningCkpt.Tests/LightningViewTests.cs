using System.IO;
using System.Linq;
using LightningCkpt.Container;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>The Lightning reading of checkpoints, and where weights are found in files that are not Lightning's.</summary>
    public class LightningViewTests
    {
        private static string Fixture(string name) => Path.Combine(RepoPaths.FixtureFiles, name);
        private static string Sample(int version, string name) => Path.Combine(RepoPaths.Samples, "lightning_logs", $"version_{version}", "checkpoints", name);

        [Fact]
        public void SampleCheckpointSummarisesEverythingLightningSaved()
        {
            var info = CkptInfo.Read(Sample(0, "epoch=2-step=30.ckpt"));
            Assert.Equal("lightning", info.Kind);
            Assert.Equal(CheckpointFormat.Zip, info.Format);
            Assert.Equal(2, info.Epoch);
            Assert.Equal(30, info.GlobalStep);
            Assert.Equal("2.1.3", info.LightningVersion);
            Assert.Equal(0, info.RunVersion);
            Assert.Equal("val_loss", info.Monitor);
            Assert.NotNull(info.BestModelScore);
            Assert.Contains("ModelCheckpoint", info.Callbacks);
            Assert.StartsWith("Adam", info.Optimizers.Single());
            Assert.True(info.OptimizerStateBytes > 0);
            Assert.Equal(info.ParameterCount * 4, info.WeightsBytes);
            Assert.NotNull(info.HyperParameters);
            Assert.True(info.HyperParameters!.Contains("lr"));
            Assert.Contains("state_dict", info.TopLevelKeys);
            Assert.Empty(info.UnsafeGlobals);
            Assert.Equal("float32", info.DTypes.ToString());
        }

        [Fact]
        public void BestScoresDecreaseAcrossEpochsAsTheSamplesWereTrained()
        {
            var scores = new[] { "epoch=0-step=10.ckpt", "epoch=1-step=20.ckpt", "epoch=2-step=30.ckpt" }
                .Select(n => CkptInfo.Read(Sample(0, n)).BestModelScore!.Value).ToArray();
            Assert.True(scores[0] > scores[1] && scores[1] > scores[2]);
        }

        [Fact]
        public void RunVersionComesFromTheNearestVersionFolder()
        {
            Assert.Equal(12, Lightning.RunLocation.RunVersion("/x/lightning_logs/version_3/sub/version_12/checkpoints/a.ckpt"));
            Assert.Equal(7, Lightning.RunLocation.RunVersion(@"C:\runs\lightning_logs\version_7\checkpoints\last.ckpt"));
            Assert.Null(Lightning.RunLocation.RunVersion("/x/version_a/last.ckpt"));
            Assert.Equal(4, Lightning.RunLocation.RunVersion("/x/version_3/version_4/last.ckpt")); // adjacent folders: the nearer one
            Assert.Equal(5, Lightning.RunLocation.RunVersion("version_5"));
            Assert.Equal(2, Lightning.RunLocation.RunVersion("/x/version_2/myversion_9/a_version_8.ckpt")); // whole segments only
            Assert.Null(Lightning.RunLocation.RunVersion("/x/version_/last.ckpt"));
            Assert.Null(Lightning.RunLocation.RunVersion("/x/version_99999999999/last.ckpt")); // beyond int: no version, as before
            Assert.Null(Lightning.RunLocation.RunVersion(""));
        }

        [Theory]
        [InlineData("plain_state_dict.pt", "state_dict", "")]
        [InlineData("model_optimizer_epoch.pt", "checkpoint_dict", "model")]
        [InlineData("bare_tensor.pt", "tensor", "")]
        [InlineData("list_of_tensors.pt", "list", "")]
        [InlineData("whole_module.pt", "module", "")]
        [InlineData("lightning2_full.ckpt", "lightning", "state_dict")]
        public void WeightsAreFoundWhereAUserWouldLook(string file, string kind, string weightsPath)
        {
            var c = Checkpoint.Open(Fixture(file));
            Assert.Equal(kind, c.View.Kind);
            Assert.Equal(weightsPath, c.View.WeightsPath);
            Assert.NotEmpty(c.View.Weights);
        }

        [Fact]
        public void PickledModulesAreNamedLikeStateDict()
        {
            var names = Checkpoint.Open(Fixture("whole_module.pt")).View.Weights.Select(w => w.Name).ToList();
            Assert.All(names, n => Assert.DoesNotContain("_parameters", n));
            Assert.Contains(names, n => n.EndsWith(".weight"));
        }

        [Fact]
        public void OldLightningSpellingsAreRead()
        {
            Assert.Equal("0.8.5", Checkpoint.Open(Fixture("lightning08_legacy.ckpt")).View.LightningVersion);
            var classKeyed = Checkpoint.Open(Fixture("lightning12_classkeys.ckpt")).View;
            Assert.Contains(classKeyed.Callbacks, c => c.Name == "ModelCheckpoint");
            Assert.NotNull(classKeyed.ModelCheckpoint);
        }

        [Fact]
        public void ForeignClassesBecomeInertHyperParameterData()
        {
            var info = CkptInfo.Read(Fixture("lightning2_full.ckpt"));
            Assert.Equal(0.001, (double)info.HyperParameters!["lr"]!);
            Assert.Contains("lr=0.001", info.HyperParameters.ToString());
            Assert.DoesNotContain("functools.partial", info.UnsafeGlobals); // partial(make_scheduler, …) is configuration: never called, wraps no dangerous function
        }

        [Fact]
        public void AFolderOfNoCheckpointLayoutIsNotACheckpoint()
        {
            // samples/ holds lightning_logs/ folders, not a sharded checkpoint's files
            var ex = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(RepoPaths.Samples));
            Assert.Equal(CheckpointErrorKind.NotACheckpoint, ex.Kind);
            Assert.Contains("samples", ex.FilePath);
            Assert.Contains("not a checkpoint", ex.Message);
        }

        [Fact]
        public void TorchScriptArchivesAreNamedAsSuch()
        {
            var ex = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(Fixture("torchscript_module.pt")));
            Assert.Equal(CheckpointErrorKind.NotACheckpoint, ex.Kind);
            Assert.Contains("TorchScript", ex.Message);
        }

        [Fact]
        public void OpeningReadsNoTensorBytes()
        {
            // A copy whose every storage byte is overwritten opens with identical metadata: nothing read them.
            var src = Fixture("lightning2_full.ckpt");
            var tmp = Path.Combine(Path.GetTempPath(), "lc-nobytes-" + System.Guid.NewGuid() + ".ckpt");
            File.Copy(src, tmp);
            try
            {
                var before = Checkpoint.Open(src);
                using (var fs = new FileStream(tmp, FileMode.Open, FileAccess.ReadWrite))
                    foreach (var s in before.Storages.Where(s => s.FileOffset >= 0))
                    {
                        fs.Position = s.FileOffset;
                        fs.Write(new byte[s.DeclaredBytes], 0, (int)s.DeclaredBytes);
                    }
                var after = CkptInfo.Read(tmp);
                var expected = CkptInfo.From(before);
                Assert.Equal(expected.TensorCount, after.TensorCount);
                Assert.Equal(expected.ParameterCount, after.ParameterCount);
                Assert.Equal(expected.Epoch, after.Epoch);
                Assert.NotEqual(expected.BestModelScore, after.BestModelScore); // the one scalar we do read
            }
            finally { File.Delete(tmp); }
        }
    }
}
