<#
.SYNOPSIS
    The ErrorRecord ids about_LightningCkpt documents that the safety harnesses accept as clean outcomes (one list
    for Measure-RewriteReaders.ps1 and Measure-Truncation.ps1).
#>
'FileNotFound', 'PathNotFileSystem', 'InvalidCheckpoint', 'NotACheckpoint', 'UnsupportedCheckpoint',
'CheckpointLimitExceeded', 'CheckpointChangedWhileReading', 'FileReadError', 'PermissionDenied', 'TensorNotFound',
'OutFileExists', 'OutFileIsInput', 'OutFileNeedsOneInput', 'WeightCountMismatch', 'MergeInputUnreadable',
'MergeInputMismatch', 'FileWriteError'
