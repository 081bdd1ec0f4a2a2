using System;
using System.IO;

namespace LightningCkpt.Tests
{
    /// <summary>Locates the repository, its fixtures and the shared real-world corpus from the test binaries.</summary>
    internal static class RepoPaths
    {
        public static readonly string Root = FindRoot();

        public static string Fixtures => Path.Combine(Root, "tests", "fixtures");
        public static string FixtureFiles => Path.Combine(Fixtures, "files");
        public static string FixtureTruth => Path.Combine(Fixtures, "truth");

        /// <summary>Single files written by torch 2.x (t2_*) and torch 1.13 (t1_*) with tests/fixtures/torch2/make_files.py.</summary>
        public static string Torch2Fixtures => Path.Combine(Fixtures, "torch2");
        public static string RealworldTruth => Path.Combine(Fixtures, "realworld");
        public static string RealworldFiles => Path.GetFullPath(Path.Combine(Root, "..", "shared", "realworld", "files"));
        public static string Samples => Path.Combine(Root, "samples");

        private static string FindRoot()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "LightningCkpt.psd1")) && !Directory.Exists(Path.Combine(dir.FullName, "tests", "fixtures")))
                dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository root above " + AppContext.BaseDirectory);
        }
    }
}
