// A pim-emulator for one test: started on a free loopback port, with a GraphServiceClient (Microsoft's
// own SDK) pointed at it, and its control API to read what it received.
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Graph;
using Microsoft.Kiota.Abstractions;
using Microsoft.Kiota.Abstractions.Authentication;

namespace PimBridge.SdkTests;

public sealed class Emulator : IDisposable
{
    private readonly Process _process;
    private readonly HttpClient _http = new();

    public string BaseUrl { get; }

    public Emulator(string scenario, params string[] extra)
    {
        var start = new ProcessStartInfo(EmulatorPath()) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--listen", "127.0.0.1:0", "--scenario", scenario }.Concat(extra))
        {
            start.ArgumentList.Add(a);
        }
        _process = Process.Start(start) ?? throw new InvalidOperationException("pim-emulator did not start");
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        var first = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("pim-emulator printed nothing");
        if (!first.StartsWith("listening ", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"pim-emulator said: {first}");
        }
        BaseUrl = first["listening ".Length..].Trim();
    }

    /// The release build of pim-emulator in this checkout (PIM_EMULATOR overrides it).
    private static string EmulatorPath()
    {
        var fromEnv = Environment.GetEnvironmentVariable("PIM_EMULATOR");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return fromEnv;
        }
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Cargo.toml")))
        {
            dir = dir.Parent;
        }
        if (dir is null)
        {
            throw new InvalidOperationException("The checkout (Cargo.toml) was not found above the test assembly; set PIM_EMULATOR.");
        }
        return Path.Combine(dir.FullName, "target", "release", OperatingSystem.IsWindows() ? "pim-emulator.exe" : "pim-emulator");
    }

    public async Task<string> TokenAsync(object? body = null)
    {
        var response = await _http.PostAsJsonAsync($"{BaseUrl}/_emulator/token", body ?? new { });
        response.EnsureSuccessStatusCode();
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        return json.GetProperty("access_token").GetString()!;
    }

    /// Microsoft's GraphServiceClient, with its v1.0 base URL set to the emulator; `token` is the
    /// body of the token request (the default approver when not given).
    public async Task<GraphServiceClient> GraphAsync(string version = "v1.0", object? token = null)
    {
        var auth = new BaseBearerTokenAuthenticationProvider(new FixedToken(await TokenAsync(token)));
        return new GraphServiceClient(new HttpClient(), auth, $"{BaseUrl}/{version}");
    }

    /// A control call (`/_emulator/...`) with a JSON body; its answer.
    public async Task<JsonElement> ControlAsync(string path, object? body = null)
    {
        var response = await _http.PostAsJsonAsync($"{BaseUrl}/_emulator/{path}", body ?? new { });
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public async Task<JsonElement[]> DecisionsAsync()
    {
        var json = await _http.GetFromJsonAsync<JsonElement>($"{BaseUrl}/_emulator/decisions");
        return json.GetProperty("value").EnumerateArray().ToArray();
    }

    /// Requests answered on routes whose template contains `needle`, with `status` when given.
    public async Task<long> CallsAsync(string needle, int? status = null)
    {
        var json = await _http.GetFromJsonAsync<JsonElement>($"{BaseUrl}/_emulator/stats");
        return json.GetProperty("routes").EnumerateArray()
            .Where(r => r.GetProperty("route").GetString()!.Contains(needle, StringComparison.Ordinal))
            .Where(r => status is null || r.GetProperty("status").GetInt32() == status)
            .Sum(r => r.GetProperty("count").GetInt64());
    }

    public async Task<JsonElement> TenantAsync() => await _http.GetFromJsonAsync<JsonElement>($"{BaseUrl}/_emulator/tenant");

    public void Dispose()
    {
        try
        {
            _process.Kill();
            _process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
        _http.Dispose();
    }

    /// Hands the emulator's token to the SDK; the emulator is on loopback, so every host is allowed.
    private sealed class FixedToken(string token) : IAccessTokenProvider
    {
        public AllowedHostsValidator AllowedHostsValidator { get; } = new();

        public Task<string> GetAuthorizationTokenAsync(Uri uri, Dictionary<string, object>? additionalAuthenticationContext = null, CancellationToken cancellationToken = default)
            => Task.FromResult(token);
    }
}
