using System.IO;
using System.Linq;
using LightningCkpt.Lightning;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>Issue 19 items 2, 6 and 13: a file's own score, its run's folder and its learning rate, from the samples.</summary>
    public class RunScoresTests
    {
        private static string Sample(string file) => Path.Combine(RepoPaths.Samples, "lightning_logs", "version_0", "checkpoints", file);

        [Fact]
        public void CurrentScore_is_the_files_own_entry_and_BestModelScore_the_best_so_far()
        {
            var infos = new[] { "epoch=0-step=10.ckpt", "epoch=1-step=20.ckpt", "epoch=2-step=30.ckpt" }.Select(f => CkptInfo.Read(Sample(f))).ToList();
            foreach (var i in infos)
            {
                // every file is in its own best_k_models under its own name, with the score it was saved with
                var own = i.BestKModels.Single(e => e.Key.EndsWith("/" + i.Name)).Value;
                Assert.Equal(own, i.CurrentScore);
                Assert.Equal(i.BestKModels.Values.Min(), i.BestModelScore);
                Assert.Equal(i.BestKModels.Values.Max(), i.KthValue);
                Assert.Equal(i.Epoch + 1, i.BestKModels.Count);
            }
            Assert.Same(infos[2].ModelCheckpoints[0].BestKModels, infos[2].BestKModels);
        }

        [Fact]
        public void The_scores_are_read_through_one_open_of_the_file()
        {
            // Get-CkptInfo reads every score tensor (current_score, best_model_score, each best_k_models entry, kth_value):
            // their zip headers are located through the reader's open file, not by opening the file again for each one
            var c = Checkpoint.Open(Sample("epoch=2-step=30.ckpt"));
            int before = Container.SourceFile.OpensOnThisThread;
            var info = CkptInfo.From(c);
            Assert.Equal(3, info.BestKModels.Count);
            Assert.Equal(1, Container.SourceFile.OpensOnThisThread - before);
        }

        [Fact]
        public void A_summary_read_by_path_takes_its_scores_through_the_handle_the_metadata_came_from()
        {
            // CkptInfo.Read keeps the file open while it reads the score tensors: no second open, stat and lock per file
            int before = Container.SourceFile.OpensOnThisThread;
            var info = CkptInfo.Read(Sample("epoch=2-step=30.ckpt"));
            Assert.Equal(3, info.BestKModels.Count);
            Assert.NotNull(info.CurrentScore);
            Assert.Equal(0, Container.SourceFile.OpensOnThisThread - before);
        }

        [Theory]
        [InlineData("/logs/lightning_logs/version_3/checkpoints/last.ckpt", "version_3")]
        [InlineData("/logs/lightning_logs/my run [v2]/checkpoints/epoch=1.ckpt", "my run [v2]")]
        [InlineData("/exports/model.ckpt", "exports")]
        [InlineData("model.ckpt", null)]
        public void RunName_is_the_folder_above_checkpoints_else_the_files_folder(string path, string? expected) =>
            Assert.Equal(expected, RunLocation.RunName(path));

        [Fact]
        public void LearningRates_are_the_param_groups_current_lr()
        {
            var i = CkptInfo.Read(Sample("epoch=1-step=20.ckpt"));
            var c = Checkpoint.Open(Sample("epoch=1-step=20.ckpt"));
            Assert.Equal(c.View.Optimizers.SelectMany(o => o.LearningRates), i.LearningRates);
            Assert.Single(i.LearningRates);
            Assert.Equal(i.LearningRates[0], c.View.LrSchedulers[0].LastLr[0], 12);
        }

        [Fact]
        public void PSPath_is_the_provider_qualified_FullName()
        {
            var i = CkptInfo.Read(Sample("last.ckpt"));
            Assert.Equal(Sample("last.ckpt"), i.FullName);
            Assert.Equal(@"Microsoft.PowerShell.Core\FileSystem::" + i.FullName, i.PSPath);
        }
    }
}
