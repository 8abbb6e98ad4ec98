using System.Diagnostics;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Akka.EventDriven.Service.Tests;

/// <summary>The built service (src/Akka.EventDriven.Service) run with <c>dotnet</c> as a child process, configured only
/// by environment variables; its output is collected for assertions and failure messages.</summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServiceProcess(Process process, int httpPort, string httpHost)
    {
        _process = process;
        HttpPort = httpPort;
        HttpHost = httpHost;
        Http = new HttpClient { BaseAddress = new Uri($"http://{httpHost}:{httpPort}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>The address the service's HTTP port is reached at (127.0.0.1, or its network namespace's address).</summary>
    public string HttpHost { get; }

    /// <summary>The service's HTTP port.</summary>
    public int HttpPort { get; }

    /// <summary>A client of the service's HTTP port.</summary>
    public HttpClient Http { get; }

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>The process, to wait for its exit.</summary>
    public Process Process => _process;

    /// <summary>The service dll in src/Akka.EventDriven.Service's build output, same configuration and framework as
    /// the test project this runs in (found from the repository root, the folder above <c>tests/</c>).</summary>
    public static string ServiceDll => BuildOutputOf(Path.Combine("src", "Akka.EventDriven.Service"), "Akka.EventDriven.Service.dll");

    /// <summary>The test module's dll.</summary>
    public static string TestModuleDll =>
        BuildOutputOf(Path.Combine("tests", "Akka.EventDriven.Service.TestModule"), "Akka.EventDriven.Service.TestModule.dll");

    private static string BuildOutputOf(string project, string dll)
    {
        // AppContext.BaseDirectory is <root>/tests/<test project>/bin/<configuration>/<framework>/.
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = output.Name;
        var configuration = output.Parent!.Name;
        var root = output.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
        return Path.Combine(root, project, "bin", configuration, framework, dll);
    }

    /// <summary>Starts the service with exactly <paramref name="variables"/> as its configuration: every variable the
    /// service reads (and the ASP.NET Core environment variables) is removed from the inherited environment first.</summary>
    /// <remarks>With <paramref name="networkNamespace"/>, the process runs in that namespace (<c>ip netns exec</c>, which
    /// execs in place: the process id is the service's) and is reached at <paramref name="httpHost"/>.</remarks>
    public static ServiceProcess Start(IReadOnlyDictionary<string, string> variables, string workingDirectory,
        string? networkNamespace = null, string httpHost = "127.0.0.1")
    {
        Assert.True(File.Exists(ServiceDll), $"Service not built at {ServiceDll}");
        var start = new ProcessStartInfo(networkNamespace is null ? "dotnet" : "ip")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory,
        };
        if (networkNamespace is not null)
            foreach (var a in new[] { "netns", "exec", networkNamespace, "dotnet" }) start.ArgumentList.Add(a);
        start.ArgumentList.Add(ServiceDll);
        foreach (var name in ServiceSettings.Variables) start.Environment.Remove(name);
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("ASPNETCORE_") || k == "DOTNET_ENVIRONMENT").ToList())
            start.Environment.Remove(name);
        foreach (var (name, value) in variables) start.Environment[name] = value;
        var process = new Process { StartInfo = start };
        var port = variables.TryGetValue("PORT", out var p) ? int.Parse(p) : 3000;
        var service = new ServiceProcess(process, port, httpHost);
        if (variables.TryGetValue("EVENTDRIVEN_API_KEYS", out var keys))
            service.Http.DefaultRequestHeaders.Add("X-Api-Key", keys.Split(',')[0].Split(':')[0]);
        process.OutputDataReceived += (_, e) => service.Append(e.Data);
        process.ErrorDataReceived += (_, e) => service.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return service;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    /// <summary>Sends SIGTERM, as a container runtime or Kubernetes does to stop a pod.</summary>
    public void Terminate()
    {
        if (kill(_process.Id, 15) != 0) throw new InvalidOperationException($"kill -TERM {_process.Id} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>Sends SIGKILL: the process dies at once, with no leaving, no hand-off and no flush.</summary>
    public void KillHard()
    {
        if (kill(_process.Id, 9) != 0) throw new InvalidOperationException($"kill -KILL {_process.Id} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>Waits up to <paramref name="within"/> for the process to exit and returns its exit code, or null if it did not.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        try { await _process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { return null; }
        return _process.ExitCode;
    }

    /// <summary>GET <paramref name="path"/> as JSON, failing the assertion on a non-success status.</summary>
    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path} on :{HttpPort}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>POST <paramref name="body"/> as JSON to <paramref name="path"/>; returns the status and the parsed body.</summary>
    public async Task<(int Status, JsonElement Body)> PostJsonAsync(string path, object body)
    {
        using var response = await Http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>Kills the process (and its children) if it still runs.</summary>
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception) { }
        _process.Dispose();
    }

    /// <summary>A <c>postgresql://</c> URL of a new, empty database on the server of <c>DATABASE_URL</c> (the private
    /// PostgreSQL of <c>./build.sh test</c>): service nodes write their own domain's events, which the suite's other
    /// specs, reading tags from the start of the shared database, must never meet.</summary>
    public static async Task<string> NewDatabaseUrlAsync()
    {
        var url = Environment.GetEnvironmentVariable("DATABASE_URL") is { Length: > 0 } u ? u
            : throw new InvalidOperationException("DATABASE_URL is not set: run the tests with ./build.sh test, which starts a private PostgreSQL.");
        var uri = new Uri(url);
        var database = $"svc_{Guid.NewGuid():N}";
        var server = Storage.StoreSettings.NormalizeConnectionString(Storage.StoreProvider.PostgreSql, url);
        await using (var connection = new Npgsql.NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var create = new Npgsql.NpgsqlCommand($"CREATE DATABASE {database}", connection);
            await create.ExecuteNonQueryAsync();
        }
        return new UriBuilder(uri) { Path = "/" + database }.Uri.ToString();
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
