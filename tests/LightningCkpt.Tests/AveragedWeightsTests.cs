using System.IO;
using System.Linq;
using LightningCkpt.Data;
using LightningCkpt.Lightning;
using LightningCkpt.Writing;
using LightningCkpt.Writing.Merging;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>EMA / SWA copies found by what the files hold (tests/fixtures/make_ema.py: each copy is the model's weights × 0.5).</summary>
    public sealed class AveragedWeightsTests
    {
        private static Checkpoint Open(string name) => Checkpoint.Open(Path.Combine(RepoPaths.FixtureFiles, name));

        [Theory]
        [InlineData("ema_callback.ckpt", "callbacks/EMA/ema_state_dict")]
        [InlineData("ema_swa.ckpt", "callbacks/StochasticWeightAveraging/average_model_state")]
        [InlineData("ema_timm.pth.tar", "state_dict_ema")]
        [InlineData("ema_prefix.ckpt", "state_dict/model_ema.*")]
        public void TheCopyIsFoundWithTheModelsNamesAndHalfItsValues(string file, string location)
        {
            var c = Open(file);
            var found = AveragedWeightsLocator.Find(c.Root, c.View);
            var copy = Assert.Single(found);
            Assert.Equal(location, copy.Location);
            using var reader = new TensorDataReader(c);
            var model = c.View.Weights.First(w => w.Name.EndsWith("layer.bias"));
            var averaged = copy.Weights.Single(w => w.Name == "layer.bias"); // 'module.' and 'model_ema.' are gone
            var m = reader.ToBytes(model.Tensor);
            var a = reader.ToBytes(averaged.Tensor);
            for (int i = 0; i < m.Length / 4; i++)
                Assert.Equal(System.BitConverter.ToSingle(m, i * 4) * 0.5f, System.BitConverter.ToSingle(a, i * 4));
        }

        [Fact]
        public void WeightAveragingsStateDictIsTheAverage()
        {
            var c = Open("ema_weight_averaging.ckpt");
            var copy = Assert.Single(AveragedWeightsLocator.Find(c.Root, c.View));
            Assert.StartsWith("state_dict (WeightAveraging", copy.Location);
            Assert.Same(c.View.Weights, copy.Weights);
        }

        [Fact]
        public void FilesWithoutACopyListNoneAndRefuseSourceEma()
        {
            var c = Open("lightning2_full.ckpt");
            Assert.Empty(AveragedWeightsLocator.Find(c.Root, c.View));
            Assert.Empty(CkptInfo.From(c).AveragedWeights);
            var e = Assert.Throws<WeightsRequestException>(() => WeightSelection.WeightsOf(c, WeightsSource.Ema));
            Assert.Equal(WeightsRequestProblem.NoWeightsSelected, e.Problem);
        }

        [Fact]
        public void CkptInfoListsTheCopies() =>
            Assert.Equal("callbacks/EMA/ema_state_dict (3 tensors)", Assert.Single(CkptInfo.Read(Path.Combine(RepoPaths.FixtureFiles, "ema_callback.ckpt")).AveragedWeights));

        [Fact]
        public void ExcludeAveragedSlimsAndSourceEmaExtracts()
        {
            var c = Open("ema_prefix.ckpt");
            var slim = WeightSelection.Select(c, new SelectOptions { ExcludeAveraged = true });
            Assert.Equal(new[] { "model.layer.weight", "model.layer.bias", "model.norm.num_batches_tracked" }, slim.Select(s => s.Name));
            var ema = WeightSelection.Select(c, new SelectOptions { Source = WeightsSource.Ema });
            Assert.Equal(new[] { "layer.weight", "layer.bias", "norm.num_batches_tracked" }, ema.Select(s => s.Name));
        }
    }
}
