// Microsoft's Graph SDK for .NET (Microsoft.Graph 6.10.0, Kiota) against pim-emulator, through the
// documented request builders: if the emulator answers in a shape the SDK does not read, or at a
// route the SDK does not call, these fail where our own client would have passed with it.
using Microsoft.Graph;
using Microsoft.Graph.Models;
using Microsoft.Graph.Models.ODataErrors;
using Xunit;

namespace PimBridge.SdkTests;

public class GraphSdkTests
{
    private const string Pending = "status eq 'PendingApproval'";

    [Fact]
    public async Task Lists_directory_role_requests_for_the_approver_page_by_page_with_principals()
    {
        using var emu = new Emulator("bulk:120");
        var graph = await emu.GraphAsync();
        var first = await graph.RoleManagement.Directory.RoleAssignmentScheduleRequests.FilterByCurrentUserWithOn("approver")
            .GetAsFilterByCurrentUserWithOnGetResponseAsync(c =>
            {
                c.QueryParameters.Filter = Pending;
                c.QueryParameters.Expand = ["principal"];
            });
        Assert.NotNull(first?.OdataNextLink);
        var all = new List<UnifiedRoleAssignmentScheduleRequest>();
        var pages = PageIterator<UnifiedRoleAssignmentScheduleRequest, Microsoft.Graph.RoleManagement.DirectoryNamespace.RoleAssignmentScheduleRequests.FilterByCurrentUserWithOn.FilterByCurrentUserWithOnGetResponse>
            .CreatePageIterator(graph, first!, r => { all.Add(r); return true; }, null);
        await pages.IterateAsync();
        Assert.Equal(120, all.Count);
        Assert.Equal(120, all.Select(r => r.Id).Distinct().Count());
        Assert.All(all, r =>
        {
            Assert.Equal("PendingApproval", r.Status);
            Assert.Equal(r.Id, r.ApprovalId);
            var user = Assert.IsType<User>(r.Principal);
            Assert.False(string.IsNullOrEmpty(user.DisplayName));
            Assert.Equal(r.PrincipalId, user.Id);
        });
        Assert.Equal(3, await emu.CallsAsync("filterByCurrentUser(on='approver')", 200));
    }

    [Fact]
    public async Task Lists_group_requests_and_group_approvals_waiting_on_the_approver()
    {
        using var emu = new Emulator("demo");
        var graph = await emu.GraphAsync();
        var requests = await graph.IdentityGovernance.PrivilegedAccess.Group.AssignmentScheduleRequests.FilterByCurrentUserWithOn("approver")
            .GetAsFilterByCurrentUserWithOnGetResponseAsync(c => c.QueryParameters.Filter = Pending);
        var pending = requests!.Value!;
        Assert.NotEmpty(pending);
        Assert.All(pending, r =>
        {
            Assert.False(string.IsNullOrEmpty(r.GroupId));
            Assert.NotNull(r.AccessId);
            Assert.Equal(r.Id, r.ApprovalId);
        });
        var approvals = await graph.IdentityGovernance.PrivilegedAccess.Group.AssignmentApprovals.FilterByCurrentUserWithOn("approver")
            .GetAsFilterByCurrentUserWithOnGetResponseAsync();
        Assert.Equal(pending.Select(r => r.ApprovalId).Order(), approvals!.Value!.Select(a => a.Id).Order());
        // One request read by its id, as the SDK does it.
        var one = await graph.IdentityGovernance.PrivilegedAccess.Group.AssignmentScheduleRequests[pending[0].Id].GetAsync();
        Assert.Equal(pending[0].Id, one!.Id);
        Assert.Equal(pending[0].GroupId, one.GroupId);
    }

    [Fact]
    public async Task Reads_a_group_approval_and_its_stages_then_approves_the_open_stage()
    {
        using var emu = new Emulator("demo");
        var graph = await emu.GraphAsync();
        var approvalId = await FirstGroupApprovalAsync(graph);
        var approvals = graph.IdentityGovernance.PrivilegedAccess.Group.AssignmentApprovals;
        var approval = await approvals[approvalId].GetAsync(c => c.QueryParameters.Expand = ["stages"]);
        Assert.Equal(approvalId, approval!.Id);
        var stages = (await approvals[approvalId].Stages.GetAsync())!.Value!;
        var open = Assert.Single(stages, s => s.AssignedToMe == true && s.ReviewResult == "NotReviewed");
        var same = await approvals[approvalId].Stages[open.Id].GetAsync();
        Assert.Equal(open.Id, same!.Id);

        await approvals[approvalId].Stages[open.Id].PatchAsync(new ApprovalStage { ReviewResult = "Approve", Justification = "Checked by the .NET SDK" });

        var recorded = Assert.Single(await emu.DecisionsAsync());
        Assert.Equal(approvalId, recorded.GetProperty("approvalId").GetString());
        Assert.Equal(open.Id, recorded.GetProperty("stepId").GetString());
        Assert.StartsWith("Approve", recorded.GetProperty("reviewResult").GetString());
        Assert.Equal("Checked by the .NET SDK", recorded.GetProperty("justification").GetString());
        // v1.0 reviewedBy is one identity: the SDK reads who decided.
        var decided = await approvals[approvalId].Stages[open.Id].GetAsync();
        Assert.StartsWith("Approve", decided!.ReviewResult);
        Assert.Equal(recorded.GetProperty("reviewer").GetString(), decided.ReviewedBy?.Id);
        Assert.NotNull(decided.ReviewedDateTime);
    }

    [Fact]
    public async Task Sends_reads_and_a_decision_in_one_batch()
    {
        using var emu = new Emulator("demo");
        var graph = await emu.GraphAsync();
        var approvalId = await FirstGroupApprovalAsync(graph);
        var approvals = graph.IdentityGovernance.PrivilegedAccess.Group.AssignmentApprovals;
        var stageId = (await approvals[approvalId].Stages.GetAsync())!.Value!.Single(s => s.AssignedToMe == true).Id;

        var batch = new BatchRequestContentCollection(graph);
        var read = await batch.AddBatchRequestStepAsync(approvals[approvalId].ToGetRequestInformation());
        var decide = await batch.AddBatchRequestStepAsync(approvals[approvalId].Stages[stageId]
            .ToPatchRequestInformation(new ApprovalStage { ReviewResult = "Deny", Justification = "No ticket" }));
        var answers = await graph.Batch.PostAsync(batch);

        var approval = await answers.GetResponseByIdAsync<Approval>(read);
        Assert.Equal(approvalId, approval.Id);
        var status = await answers.GetResponsesStatusCodesAsync();
        Assert.Equal(System.Net.HttpStatusCode.NoContent, status[decide]);
        var recorded = Assert.Single(await emu.DecisionsAsync());
        Assert.StartsWith("Den", recorded.GetProperty("reviewResult").GetString());
        Assert.Equal(2, await emu.CallsAsync("[batch item]"));
    }

    [Fact]
    public async Task Reads_the_services_409_and_404_as_ODataErrors()
    {
        using var emu = new Emulator("demo");
        var graph = await emu.GraphAsync();
        var approvalId = await FirstGroupApprovalAsync(graph);
        var approvals = graph.IdentityGovernance.PrivilegedAccess.Group.AssignmentApprovals;
        var stageId = (await approvals[approvalId].Stages.GetAsync())!.Value!.Single(s => s.AssignedToMe == true).Id;
        await approvals[approvalId].Stages[stageId].PatchAsync(new ApprovalStage { ReviewResult = "Approve", Justification = "once" });

        // A new body: the SDK's backing store sends only what changed since an object was last sent.
        var again = new ApprovalStage { ReviewResult = "Approve", Justification = "twice" };
        var twice = await Assert.ThrowsAsync<ODataError>(() => approvals[approvalId].Stages[stageId].PatchAsync(again));
        Assert.Equal(409, twice.ResponseStatusCode);
        Assert.False(string.IsNullOrEmpty(twice.Error?.Code));
        Assert.False(string.IsNullOrEmpty(twice.Error?.Message));

        var missing = await Assert.ThrowsAsync<ODataError>(() => approvals["00000000-0000-4000-8000-00000000dead"].GetAsync());
        Assert.Equal(404, missing.ResponseStatusCode);
        Assert.False(string.IsNullOrEmpty(missing.Error?.Code));
        Assert.Single(await emu.DecisionsAsync());
    }

    [Fact]
    public async Task Reads_a_group_stage_that_expired_and_its_refused_decision()
    {
        using var emu = new Emulator("demo");
        var graph = await emu.GraphAsync();
        var approvalId = await FirstGroupApprovalAsync(graph);
        await emu.ControlAsync($"requests/{approvalId}/expire");
        var approvals = graph.IdentityGovernance.PrivilegedAccess.Group.AssignmentApprovals;
        var stage = Assert.Single((await approvals[approvalId].Stages.GetAsync())!.Value!);
        Assert.Equal("Expired", stage.Status);
        Assert.Equal("NotReviewed", stage.ReviewResult);
        var refused = await Assert.ThrowsAsync<ODataError>(() =>
            approvals[approvalId].Stages[stage.Id].PatchAsync(new ApprovalStage { ReviewResult = "Approve", Justification = "late" }));
        Assert.Equal(409, refused.ResponseStatusCode);
        var request = await graph.IdentityGovernance.PrivilegedAccess.Group.AssignmentScheduleRequests[approvalId].GetAsync();
        Assert.NotEqual("PendingApproval", request!.Status);
        Assert.Empty(await emu.DecisionsAsync());
    }

    [Fact]
    public async Task Looks_up_names_in_the_directory_as_scripts_do()
    {
        using var emu = new Emulator("demo");
        var graph = await emu.GraphAsync();
        var requests = await graph.RoleManagement.Directory.RoleAssignmentScheduleRequests.FilterByCurrentUserWithOn("approver")
            .GetAsFilterByCurrentUserWithOnGetResponseAsync(c => c.QueryParameters.Filter = Pending);
        var first = requests!.Value!.First();
        var user = await graph.Users[first.PrincipalId].GetAsync();
        Assert.False(string.IsNullOrEmpty(user!.DisplayName));
        var objects = await graph.DirectoryObjects.GetByIds.PostAsGetByIdsPostResponseAsync(new Microsoft.Graph.DirectoryObjects.GetByIds.GetByIdsPostRequestBody
        {
            Ids = requests.Value!.Select(r => r.PrincipalId!).Distinct().ToList(),
            Types = ["user"],
        });
        Assert.Equal(requests.Value!.Select(r => r.PrincipalId).Distinct().Count(), objects!.Value!.Count);
        Assert.All(objects.Value!, o => Assert.False(string.IsNullOrEmpty(Assert.IsType<User>(o).DisplayName)));
        var role = await graph.RoleManagement.Directory.RoleDefinitions[first.RoleDefinitionId].GetAsync();
        Assert.True(role!.IsBuiltIn);
        var activated = await graph.DirectoryRolesWithRoleTemplateId(first.RoleDefinitionId!).GetAsync();
        Assert.Equal(role.DisplayName, activated!.DisplayName);
        var groupId = (await graph.IdentityGovernance.PrivilegedAccess.Group.AssignmentScheduleRequests.FilterByCurrentUserWithOn("approver")
            .GetAsFilterByCurrentUserWithOnGetResponseAsync(c => c.QueryParameters.Filter = Pending))!.Value!.First().GroupId;
        var group = await graph.Groups[groupId].GetAsync();
        Assert.False(string.IsNullOrEmpty(group!.DisplayName));
        var asObject = await graph.DirectoryObjects[groupId].GetAsync();
        Assert.IsType<Group>(asObject);
    }

    [Fact]
    public async Task A_requester_activates_through_the_SDK_and_the_approver_sees_it_waiting()
    {
        using var emu = new Emulator("empty");
        var requester = await emu.GraphAsync(token: new { user = "AdeleV@contoso.onmicrosoft.com" });
        var adele = (await requester.Users["AdeleV@contoso.onmicrosoft.com"].GetAsync())!.Id;
        var created = await requester.RoleManagement.Directory.RoleAssignmentScheduleRequests.PostAsync(new UnifiedRoleAssignmentScheduleRequest
        {
            Action = UnifiedRoleScheduleRequestActions.SelfActivate,
            PrincipalId = adele,
            RoleDefinitionId = "fe930be7-5e62-47db-91af-98c3a49a38b1",
            DirectoryScopeId = "/",
            Justification = "Offboard the leavers",
            ScheduleInfo = new RequestSchedule
            {
                StartDateTime = DateTimeOffset.UtcNow,
                Expiration = new ExpirationPattern { Type = ExpirationPatternType.AfterDuration, Duration = TimeSpan.FromHours(2) },
            },
        });
        Assert.Equal("PendingApproval", created!.Status);
        Assert.Equal(created.Id, created.ApprovalId);
        var group = await requester.IdentityGovernance.PrivilegedAccess.Group.AssignmentScheduleRequests.PostAsync(new PrivilegedAccessGroupAssignmentScheduleRequest
        {
            Action = ScheduleRequestActions.SelfActivate,
            AccessId = PrivilegedAccessGroupRelationships.Member,
            PrincipalId = adele,
            GroupId = "2b5ed229-4072-478d-9504-a047ebd4b07d",
            ScheduleInfo = new RequestSchedule
            {
                StartDateTime = DateTimeOffset.UtcNow,
                Expiration = new ExpirationPattern { Type = ExpirationPatternType.AfterDuration, Duration = TimeSpan.FromHours(2) },
            },
        });
        Assert.Equal("PendingApproval", group!.Status);

        var approver = await emu.GraphAsync();
        var waiting = await approver.RoleManagement.Directory.RoleAssignmentScheduleRequests.FilterByCurrentUserWithOn("approver")
            .GetAsFilterByCurrentUserWithOnGetResponseAsync(c => c.QueryParameters.Filter = Pending);
        Assert.Equal(created.Id, Assert.Single(waiting!.Value!).Id);
        var approvals = approver.IdentityGovernance.PrivilegedAccess.Group.AssignmentApprovals;
        var stage = Assert.Single((await approvals[group.Id].Stages.GetAsync())!.Value!);
        Assert.Equal(group.Id, stage.Id);
        await approvals[group.Id].Stages[stage.Id].PatchAsync(new ApprovalStage { ReviewResult = "Approve", Justification = "ok" });
        Assert.Single(await emu.DecisionsAsync());
    }

    private static async Task<string> FirstGroupApprovalAsync(GraphServiceClient graph)
    {
        var requests = await graph.IdentityGovernance.PrivilegedAccess.Group.AssignmentScheduleRequests.FilterByCurrentUserWithOn("approver")
            .GetAsFilterByCurrentUserWithOnGetResponseAsync(c => c.QueryParameters.Filter = Pending);
        return requests!.Value!.First().ApprovalId!;
    }
}
