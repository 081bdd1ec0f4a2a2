using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using LightningCkpt.Writing;

namespace LightningCkpt.Commands
{
    /// <summary>
    /// The shared -Path / -LiteralPath pair of the file-reading cmdlets, bound exactly as Get-FileHash binds them,
    /// and the per-file error handling: one bad file is one non-terminating error, and the batch goes on.
    /// </summary>
    public abstract partial class CkptCommandBase : PSCmdlet
    {
        internal const string PathSet = "Path";
        internal const string LiteralPathSet = "LiteralPath";
        internal const string InputObjectSet = "InputObject";

        /// <summary>Checkpoint files; wildcards are expanded.</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        public string[] Path { get; set; } = Array.Empty<string>();

        /// <summary>Checkpoint files, used exactly as typed (no wildcard expansion); binds FileInfo.PSPath from the pipeline.</summary>
        [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
        [Alias("PSPath", "LP")]
        public string[] LiteralPath { get; set; } = Array.Empty<string>();

        /// <summary>
        /// The files named by this record's -Path or -LiteralPath, resolved to file-system paths. Bad paths are
        /// reported here (non-terminating) and skipped.
        /// </summary>
        /// <param name="missing">When given, called for a path that names no file instead of writing FileNotFound.</param>
        protected IEnumerable<string> ResolveInputFiles(Action<string>? missing = null)
        {
            if (ParameterSetName == UriSet)
                return RemoteInput.Urls(this, Uri);
            if (ParameterSetName == LiteralPathSet)
                return PathResolution.ResolveLiteral(this, LiteralPath, missing);
            return PathResolution.ResolveWildcard(this, Path, missing);
        }

        /// <summary>The file of a piped <see cref="CkptInfo"/> (InputObject set): its FullName is already a file-system path.</summary>
        protected IEnumerable<string> ResolveInputObject(CkptInfo? info, Action<string>? missing = null)
        {
            if (info == null) yield break;
            if (RemoteInput.IsUrl(info.ReadFrom)) { yield return info.ReadFrom; yield break; }
            if (File.Exists(info.FullName) || Directory.Exists(info.FullName)) { yield return info.FullName; yield break; }
            if (missing != null) { missing(info.FullName); yield break; }
            WriteError(new ErrorRecord(new FileNotFoundException($"Cannot find path '{info.FullName}' because it does not exist.", info.FullName),
                "FileNotFound", ErrorCategory.ObjectNotFound, info.FullName));
        }

        /// <summary>Runs <paramref name="work"/> for one file; maps every input problem to a non-terminating error.</summary>
        protected bool TryProcessFile(string path, Action work) => PathResolution.TryFile(this, path, work, writing: false);
    }

    /// <summary>Path resolution and error mapping shared by every cmdlet (also those without the Path/LiteralPath pair).</summary>
    internal static class PathResolution
    {
        /// <summary>Get-FileHash's -Path: globbing; an unmatched wildcard is silent, an unmatched plain path is FileNotFound.</summary>
        /// <param name="missing">When given, called for a path that names no file instead of writing FileNotFound (Test-Ckpt -Quiet).</param>
        public static IEnumerable<string> ResolveWildcard(PSCmdlet cmdlet, IEnumerable<string> paths, Action<string>? missing = null)
        {
            foreach (var p in paths)
            {
                if (p == null) continue;
                if (RemoteInput.IsUrl(p)) { yield return p; continue; } // a URL is not a provider path ('?' is no wildcard there)
                System.Collections.ObjectModel.Collection<string> resolved;
                ProviderInfo provider;
                try
                {
                    resolved = cmdlet.GetResolvedProviderPathFromPSPath(p, out provider);
                }
                catch (ItemNotFoundException e)
                {
                    if (WildcardPattern.ContainsWildcardCharacters(p)) continue;
                    if (missing != null) missing(p);
                    else cmdlet.WriteError(new ErrorRecord(new FileNotFoundException(e.Message, p, e), "FileNotFound", ErrorCategory.ObjectNotFound, p));
                    continue;
                }
                catch (Exception e) when (IsUnusablePath(e))
                {
                    cmdlet.WriteError(new ErrorRecord(e, "PathNotFileSystem", ErrorCategory.InvalidArgument, p));
                    continue;
                }
                if (!IsFileSystem(provider))
                {
                    cmdlet.WriteError(NotFileSystem(p, provider));
                    continue;
                }
                bool wildcard = WildcardPattern.ContainsWildcardCharacters(p);
                foreach (var file in resolved)
                {
                    // Folders a wildcard happens to match are skipped unless they are sharded checkpoints; a folder
                    // named explicitly goes to Core, which reads it or says it is not a checkpoint.
                    if (wildcard && Directory.Exists(file) && !Checkpoint.IsCheckpointFolder(file)) continue;
                    yield return file;
                }
            }
        }

        /// <summary>Get-FileHash's -LiteralPath: no globbing; a missing file is FileNotFound.</summary>
        public static IEnumerable<string> ResolveLiteral(PSCmdlet cmdlet, IEnumerable<string> paths, Action<string>? missing = null)
        {
            foreach (var p in paths)
            {
                if (p == null) continue;
                if (TryResolveLiteral(cmdlet, p, out var file, out var error)) yield return file!;
                else if (missing != null && error!.FullyQualifiedErrorId == "FileNotFound") missing(p);
                else cmdlet.WriteError(error!);
            }
        }

        /// <summary>Resolves one literal path to an existing file or folder (sharded checkpoints; Core names other folders as not checkpoints).</summary>
        public static bool TryResolveLiteral(PSCmdlet cmdlet, string p, out string? file, out ErrorRecord? error)
        {
            if (RemoteInput.IsUrl(p)) { file = p; error = null; return true; }
            if (!TryResolveOutput(cmdlet, p, out var resolved, out error)) { file = null; return false; }
            if (!File.Exists(resolved) && !Directory.Exists(resolved))
            {
                error = new ErrorRecord(new FileNotFoundException($"Cannot find path '{p}' because it does not exist.", resolved), "FileNotFound", ErrorCategory.ObjectNotFound, p);
                file = null;
                return false;
            }
            file = resolved;
            return true;
        }

        /// <summary>Resolves an output path (the file need not exist); the provider must be the file system.</summary>
        public static bool TryResolveOutput(PSCmdlet cmdlet, string p, out string? file, out ErrorRecord? error)
        {
            file = null;
            error = null;
            ProviderInfo provider;
            try
            {
                file = cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(p, out provider, out _);
            }
            catch (Exception e) when (IsUnusablePath(e))
            {
                error = new ErrorRecord(e, "PathNotFileSystem", ErrorCategory.InvalidArgument, p);
                return false;
            }
            if (!IsFileSystem(provider))
            {
                error = NotFileSystem(p, provider);
                file = null;
                return false;
            }
            return true;
        }

        /// <summary>What the provider layer throws for a path it cannot turn into a provider path.</summary>
        private static bool IsUnusablePath(Exception e) =>
            e is ProviderNotFoundException || e is System.Management.Automation.DriveNotFoundException || e is PSNotSupportedException
            || e is NotSupportedException || e is ArgumentException || e is PSInvalidOperationException;

        private static bool IsFileSystem(ProviderInfo provider) =>
            provider != null && provider.ImplementingType == typeof(Microsoft.PowerShell.Commands.FileSystemProvider);

        private static ErrorRecord NotFileSystem(string p, ProviderInfo provider) => new ErrorRecord(
            new ArgumentException($"The path '{p}' is on the {provider?.Name ?? "unknown"} provider; LightningCkpt reads files only, so the path must be on the FileSystem provider."),
            "PathNotFileSystem", ErrorCategory.InvalidArgument, p);

        /// <summary>
        /// Runs <paramref name="work"/> for one file; maps input problems to a non-terminating error whose target is
        /// the path. Returns false when an error was written.
        /// </summary>
        public static bool TryFile(PSCmdlet cmdlet, string path, Action work, bool writing)
        {
            try
            {
                work();
                return true;
            }
            catch (Exception e) when (Classify(e, RemoteInput.Shown(path), writing) is ErrorRecord error)
            {
                cmdlet.WriteError(error);
                return false;
            }
        }

        /// <summary>
        /// The error record for an input or file-system problem with <paramref name="path"/>, or null when
        /// <paramref name="e"/> is not one (a bug, a stopped pipeline): those are not turned into per-file errors.
        /// </summary>
        public static ErrorRecord? Classify(Exception e, string path, bool writing) => e switch
        {
            CheckpointFormatException f => ErrorFor(f, path),
            CheckpointWriteException w => ErrorFor(w),
            Writing.WeightsRequestException r => ErrorFor(r, path),
            Remote.RemoteSourceException r => RemoteInput.ErrorFor(r),
            FileNotFoundException _ => new ErrorRecord(e, "FileNotFound", ErrorCategory.ObjectNotFound, path),
            DirectoryNotFoundException _ when writing => new ErrorRecord(e, "FileWriteError", ErrorCategory.WriteError, path),
            DirectoryNotFoundException _ => new ErrorRecord(e, "FileNotFound", ErrorCategory.ObjectNotFound, path),
            UnauthorizedAccessException _ => new ErrorRecord(e, "PermissionDenied", ErrorCategory.PermissionDenied, path),
            IOException _ when writing => new ErrorRecord(e, "FileWriteError", ErrorCategory.WriteError, path),
            IOException _ => new ErrorRecord(e, "FileReadError", ErrorCategory.ReadError, path),
            _ => null,
        };

        /// <summary>The stable error id and category of a refused or failed write; the target object is the output path.</summary>
        public static ErrorRecord ErrorFor(CheckpointWriteException e)
        {
            var (id, category) = e.Kind switch
            {
                CheckpointWriteErrorKind.OutputIsInput => ("OutFileIsInput", ErrorCategory.InvalidArgument),
                CheckpointWriteErrorKind.OutputNotAFile => ("OutFileNotAFile", ErrorCategory.InvalidArgument),
                CheckpointWriteErrorKind.OutputExists => ("OutFileExists", ErrorCategory.ResourceExists),
                _ => ("FileWriteError", ErrorCategory.WriteError),
            };
            return new ErrorRecord(e, id, category, e.Target);
        }

        /// <summary>The stable error id of a selection or merge the inputs cannot satisfy (nothing was written).</summary>
        public static ErrorRecord ErrorFor(Writing.WeightsRequestException e, string path)
        {
            var (id, category) = e.Problem switch
            {
                Writing.WeightsRequestProblem.NoWeightsSelected => ("NoWeightsSelected", ErrorCategory.ObjectNotFound),
                Writing.WeightsRequestProblem.NameCollision => ("WeightNameCollision", ErrorCategory.InvalidArgument),
                Writing.WeightsRequestProblem.DTypeNotWritable => ("DTypeNotWritable", ErrorCategory.InvalidType),
                Writing.WeightsRequestProblem.MergeMismatch => ("MergeInputMismatch", ErrorCategory.InvalidData),
                _ => ("TensorNotWritable", ErrorCategory.NotImplemented),
            };
            return new ErrorRecord(e, id, category, path);
        }

        /// <summary>The stable error id and category of a Core input problem.</summary>
        public static ErrorRecord ErrorFor(CheckpointFormatException e, string path)
        {
            if (e.Defect == CheckpointDefect.ChangedWhileReading) return new ErrorRecord(e, "CheckpointChangedWhileReading", ErrorCategory.ReadError, path);
            var (id, category) = e.Kind switch
            {
                CheckpointErrorKind.NotACheckpoint => ("NotACheckpoint", ErrorCategory.InvalidData),
                CheckpointErrorKind.Unsupported => ("UnsupportedCheckpoint", ErrorCategory.NotImplemented),
                CheckpointErrorKind.LimitExceeded => ("CheckpointLimitExceeded", ErrorCategory.LimitsExceeded),
                _ => ("InvalidCheckpoint", ErrorCategory.InvalidData),
            };
            return new ErrorRecord(e, id, category, path);
        }
    }
}
