using System.Diagnostics;

namespace Akka.EventDriven.Hosting.Tests;

/// <summary>The main job (samples/IntelOps) runs live on the embedded default, in a fresh folder, twice in a row, with
/// bounded traffic through its HTTP API and --verify checking everything the traffic produced.</summary>
public sealed class MainJobSpec
{
    [Fact]
    public async Task IntelOps_runs_bounded_traffic_verifies_it_and_can_run_again_on_the_same_file()
    {
        var job = Path.Combine(
            AppContext.BaseDirectory.Replace(Path.Combine("tests", "Akka.EventDriven.Hosting.Tests"), Path.Combine("samples", "IntelOps")),
            "IntelOps.dll");
        Assert.True(File.Exists(job), $"IntelOps not built at {job}");
        var folder = Directory.CreateTempSubdirectory("intelops-").FullName;
        try
        {
            for (var run = 1; run <= 2; run++)
            {
                var (exit, output) = await RunAsync(job, folder, "--events", "300", "--rate", "200", "--port", "0", "--no-dashboard", "--verify");
                Assert.True(exit == 0, $"run {run} exited {exit}:\n{output}");
                Assert.Matches(@"IntelOps is running: http://127\.0\.0\.1:\d+", output);
                Assert.Contains("Summary after", output);
                Assert.Contains("300 API calls", output);
                Assert.Matches(@"Phase 2 \(after restart\): (\d+)/\1 investigations recovered with identical state and version", output);
                Assert.Contains("matches the ledger: True", output);
                Assert.Contains("investigation.started.v1", output);
                Assert.Contains("IntelOps: OK", output);
            }
            Assert.True(File.Exists(Path.Combine(folder, "data", "intelops.db")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_bad_option_exits_2_with_the_usage()
    {
        var job = Path.Combine(
            AppContext.BaseDirectory.Replace(Path.Combine("tests", "Akka.EventDriven.Hosting.Tests"), Path.Combine("samples", "IntelOps")),
            "IntelOps.dll");
        var (exit, output) = await RunAsync(job, Path.GetTempPath(), "--rate", "lots");
        Assert.Equal(2, exit);
        Assert.Contains("--rate:", output);
        Assert.Contains("usage:", output);
    }

    private static async Task<(int Exit, string Output)> RunAsync(string dll, string folder, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { process.Kill(entireProcessTree: true); throw; }
        return (process.ExitCode, await stdout + await stderr);
    }
}
